// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/comet-otel/comet/internal/log"
)

func runGroups(ctx context.Context, args []string, out *output) error {
	if len(args) > 0 {
		switch args[0] {
		case "list":
			return runGroupsList(ctx, args[1:], out)
		case "reset":
			out.cmd = "groups reset"
			return runGroupsReset(ctx, args[1:], out)
		case "delete":
			out.cmd = "groups delete"
			return runGroupsDelete(ctx, args[1:], out)
		}
	}
	return runGroupsList(ctx, args, out)
}

// groupsReport is the output of groups --json.
type groupsReport struct {
	Directory          string              `json:"directory"`
	GeneratedAt        time.Time           `json:"generated_at"`
	Groups             []groupReport       `json:"groups"`
	DamagedOffsetFiles []damagedOffsetFile `json:"damaged_offset_files"`
}

func runGroupsList(ctx context.Context, args []string, out *output) error {
	fs := newFlags(out, "cometctl groups [list] DIR [--group G] [--json]", `
Lists the consumer groups of the data directory DIR: per group and shard
its offset (the next entry it reads), the shard's end, its lag (entries on
disk it has not acknowledged) and the append time and age of its oldest
unacknowledged record. Reads only: it takes no lock and changes nothing.

Also: cometctl groups reset DIR --group G --to earliest|latest|TIME
      cometctl groups delete DIR --group G`)
	asJSON := fs.Bool("json", false, "print one JSON object (the shape is documented in cmd/cometctl/README.md)")
	only := fs.String("group", "", "show only this group")
	pos, err := parseArgs(fs, args, "DIR")
	if err != nil {
		return err
	}
	dir, err := dataDir(pos[0])
	if err != nil {
		return err
	}
	c, err := openReadOnly(dir, out.stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	now := time.Now()
	names, err := c.Streams()
	if err != nil {
		return err
	}
	nss, err := collectStreams(c, names)
	if err != nil {
		return err
	}
	rep := groupsReport{Directory: dir, GeneratedAt: now.UTC()}
	if rep.Groups, rep.DamagedOffsetFiles, err = collectGroups(ctx, c, nss, now); err != nil {
		return err
	}
	if *only != "" {
		rep.Groups = slices.DeleteFunc(rep.Groups, func(g groupReport) bool { return g.Group != *only })
		if len(rep.Groups) == 0 {
			return fmt.Errorf("consumer group %q has no offsets in %s", *only, dir)
		}
	}
	if *asJSON {
		return writeJSON(out.stdout, rep)
	}
	printGroups(out.stdout, rep.Groups, rep.DamagedOffsetFiles, now)
	return nil
}

// resetTarget is where groups reset moves a group: the oldest entry on
// disk, the end, or the first entry appended at or after a time.
type resetTarget struct {
	earliest, latest bool
	at               time.Time
}

func runGroupsReset(ctx context.Context, args []string, out *output) error {
	fs := newFlags(out, "cometctl groups reset DIR --group G --to earliest|latest|TIME [--stream S]", `
Moves consumer group G, on every shard, to the oldest entry on disk
(earliest), to the end (latest: it skips what is buffered), or to the
first entry appended at or after TIME (RFC 3339, or a duration back from
now such as -2h), so its receiver replays from there. Without --stream it
applies to every namespace where the group has offsets; with --stream it
applies there, creating the group if needed. Prints the old and new
offsets. Opens DIR as its writer (recovering it as a collector's start
does) and is refused while a collector holds the writer lock; stop every
collector that reads DIR with this group first, or it overwrites the new
offsets with its next acknowledgement.`)
	group := fs.String("group", "", "the consumer group; required")
	to := fs.String("to", "", "earliest, latest, or a time; required")
	stream := fs.String("stream", "", "a signal, pattern or stream to reset on (default: where the group has offsets)")
	pos, err := parseArgs(fs, args, "DIR")
	if err != nil {
		return err
	}
	if *group == "" || *to == "" {
		return usageErrorf(fs, "--group and --to are required")
	}
	target := resetTarget{earliest: *to == "earliest", latest: *to == "latest"}
	if !target.earliest && !target.latest {
		if target.at, err = parseTime(*to, time.Now()); err != nil {
			return usageErrorf(fs, "--to: want earliest, latest or a time: %v", err)
		}
	}
	change, err := openForGroupChange(fs, pos[0], *group, *stream, out)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tOLD OFFSET\tNEW OFFSET")
	for _, sel := range change.targets {
		if err = resetNamespace(ctx, change.c, sel, *group, target, tw); err != nil {
			break
		}
	}
	_ = tw.Flush()
	if cerr := change.close(); err == nil && cerr != nil {
		err = fmt.Errorf("store the new offsets: %w", cerr)
	}
	return err
}

// resetNamespace moves the group on every selected shard of a namespace
// and prints the old and new offsets.
func resetNamespace(ctx context.Context, c *log.Client, sel selection, group string, target resetTarget, tw *tabwriter.Writer) error {
	before, err := offsetsOf(c, sel, group)
	if err != nil {
		return err
	}
	names, err := c.Streams()
	if err != nil {
		return err
	}
	cons := log.NewConsumer(c, log.ConsumerOptions{Group: group, Stream: sel.pattern()})
	defer cons.Close()
	for _, stream := range sel.pick(names) {
		_, _, shard, _ := splitStream(stream)
		if err := resetShard(ctx, c, cons, stream, shard, target); err != nil {
			return fmt.Errorf("reset %q on %s: %w", group, stream, err)
		}
	}
	after, err := offsetsOf(c, sel, group)
	if err != nil {
		return err
	}
	for _, stream := range slices.Sorted(maps.Keys(after)) {
		old := "not read yet"
		if off, ok := before[stream]; ok {
			old = fmt.Sprint(off)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\n", stream, old, after[stream])
	}
	return nil
}

func resetShard(ctx context.Context, c *log.Client, cons *log.Consumer, stream string, shard uint32, target resetTarget) error {
	switch {
	case target.earliest:
		segs, err := c.Segments(stream)
		if err != nil || len(segs) == 0 {
			return err
		}
		return cons.ResetOffset(ctx, shard, segs[0].FirstEntry)
	case target.latest:
		end, err := c.Len(ctx, stream)
		if err != nil {
			return err
		}
		return cons.ResetOffset(ctx, shard, end)
	}
	return cons.SeekToTime(ctx, shard, target.at)
}

func runGroupsDelete(ctx context.Context, args []string, out *output) error {
	fs := newFlags(out, "cometctl groups delete DIR --group G [--stream S]", `
Deletes consumer group G's offsets from every shard (of --stream, or of
every namespace where it has offsets), so it no longer holds data back
from retention: for a receiver that was renamed or retired. Opens DIR as
its writer (recovering it as a collector's start does) and is refused
while a collector holds the writer lock.`)
	group := fs.String("group", "", "the consumer group; required")
	stream := fs.String("stream", "", "a signal, pattern or stream to delete it from (default: wherever it has offsets)")
	pos, err := parseArgs(fs, args, "DIR")
	if err != nil {
		return err
	}
	if *group == "" {
		return usageErrorf(fs, "--group is required")
	}
	change, err := openForGroupChange(fs, pos[0], *group, *stream, out)
	if err != nil {
		return err
	}
	for _, sel := range change.targets {
		var offsets map[string]int64
		if offsets, err = offsetsOf(change.c, sel, *group); err != nil {
			break
		}
		if err = change.c.DeleteConsumerGroup(sel.pattern(), *group); err != nil {
			break
		}
		fmt.Fprintf(out.stdout, "deleted consumer group %q from %d shards of %s\n", *group, len(offsets), sel.label())
	}
	if cerr := change.close(); err == nil {
		err = cerr
	}
	return err
}

// groupChange is a directory opened to change one group's offsets: its
// writer client, the namespaces to change, and the group's presence locks
// on them, held until close so that no receiver of the group runs meanwhile.
type groupChange struct {
	c       *log.Client
	targets []selection
	unlocks []func() error
}

// close stores the changes (closing the client) and lets receivers of the
// group start again.
func (g *groupChange) close() error {
	err := g.c.Close()
	for _, unlock := range g.unlocks {
		err = errors.Join(err, unlock())
	}
	return err
}

// openForGroupChange opens the directory as its writer, refusing while a
// collector holds its lock, and finds the namespaces to change: the one
// --stream names, or every namespace where the group has offsets. It
// refuses while a process reads the group on one of them (a collector
// that only drains the directory holds no writer lock, but announces its
// groups: log.LockGroup).
func openForGroupChange(fs *flag.FlagSet, dirArg, group, stream string, out *output) (*groupChange, error) {
	var sel *selection
	if stream != "" {
		s, err := parseSelection(stream)
		if err != nil {
			return nil, usageErrorf(fs, "%v", err)
		}
		sel = &s
	}
	dir, err := dataDir(dirArg)
	if err != nil {
		return nil, err
	}
	c, err := openWriter(dir, writerConfig(), out.stderr, out.cmd)
	if err != nil {
		return nil, err
	}
	change := &groupChange{c: c}
	if change.targets, err = groupTargets(c, dir, group, sel); err != nil {
		return nil, errors.Join(err, change.close())
	}
	for _, t := range change.targets {
		unlock, err := c.LockGroup(t.ns, t.ver, group)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("%w: stop the comet receivers of the group first", err), change.close())
		}
		change.unlocks = append(change.unlocks, unlock)
	}
	return change, nil
}

func groupTargets(c *log.Client, dir, group string, sel *selection) ([]selection, error) {
	names, err := c.Streams()
	if err != nil {
		return nil, err
	}
	if sel != nil {
		if len(sel.pick(names)) == 0 {
			return nil, fmt.Errorf("%s has no stream %s", dir, sel.pattern())
		}
		return []selection{*sel}, nil
	}
	var targets []selection
	others := map[string]bool{}
	for _, ns := range namespaces(names) {
		positions, err := c.GroupPositions(ns.pattern())
		if err != nil {
			return nil, err
		}
		found := false
		for _, p := range positions {
			found = found || p.Err == nil && p.Group == group
			if p.Err == nil && p.Group != group {
				others[p.Group] = true
			}
		}
		if found {
			targets = append(targets, ns)
		}
	}
	if len(targets) == 0 {
		known := "none"
		if len(others) > 0 {
			known = strings.Join(slices.Sorted(maps.Keys(others)), ", ")
		}
		return nil, fmt.Errorf("consumer group %q has no offsets in %s (groups there: %s); name --stream to act on a namespace anyway", group, dir, known)
	}
	return targets, nil
}

// offsetsOf returns the group's offset per stream of a namespace.
func offsetsOf(c *log.Client, sel selection, group string) (map[string]int64, error) {
	positions, err := c.GroupPositions(sel.pattern())
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, p := range positions {
		if p.Err == nil && p.Group == group {
			out[p.Stream] = p.Offset
		}
	}
	return out, nil
}
