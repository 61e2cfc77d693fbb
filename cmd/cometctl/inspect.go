// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/comet-otel/comet/internal/log"
)

func runInspect(ctx context.Context, args []string, out *output) error {
	fs := newFlags(out, "cometctl inspect DIR [--json] [--budget BYTES]", `
Shows what the data directory DIR holds: the writer, disk use, and per
stream (namespace:version:shard:NNNN) its segments, bytes, entries and the
append times of its oldest and newest records; then per consumer group
and shard its offset, lag (entries on disk not yet acknowledged) and the
age of its oldest unacknowledged record. Reads only: it takes no lock and
changes nothing, whether or not a collector is running.`)
	asJSON := fs.Bool("json", false, "print one JSON object (the shape is documented in cmd/cometctl/README.md)")
	var budget byteSize
	fs.Var(&budget, "budget", "the exporter's retention::max_size (such as 1GiB), to show how much of it is used; the budget is configuration, not stored in DIR")
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
	rep, err := inspectDir(ctx, c, dir, int64(budget), now)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(out.stdout, rep)
	}
	printInspect(out.stdout, rep, now)
	return nil
}

// inspectDir builds the report of a directory opened read-only.
func inspectDir(ctx context.Context, c *log.Client, dir string, budget int64, now time.Time) (*dirReport, error) {
	names, err := c.Streams()
	if err != nil {
		return nil, err
	}
	rep := &dirReport{Directory: dir, GeneratedAt: now.UTC(), Writer: writerOf(dir), Namespaces: []namespaceReport{}}
	if rep.Namespaces, err = collectStreams(c, names); err != nil {
		return nil, err
	}
	for _, nr := range rep.Namespaces {
		rep.Segments += nr.Segments
		rep.SegmentBytes += nr.SegmentBytes
		rep.Entries += nr.Entries
		rep.OldestRecord = earliest(rep.OldestRecord, nr.OldestRecord)
		rep.NewestRecord = latest(rep.NewestRecord, nr.NewestRecord)
	}
	if budget > 0 {
		used := float64(rep.SegmentBytes) / float64(budget)
		rep.BudgetBytes, rep.BudgetUsed = &budget, &used
	}
	rep.DiskBytes = diskBytes(dir)
	if rep.Groups, rep.DamagedOffsetFiles, err = collectGroups(ctx, c, rep.Namespaces, now); err != nil {
		return nil, err
	}
	return rep, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printInspect(w io.Writer, rep *dirReport, now time.Time) {
	fmt.Fprintf(w, "Directory:  %s\n", rep.Directory)
	fmt.Fprintf(w, "Writer:     %s\n", describeWriter(rep.Writer))
	usage := fmt.Sprintf("%d segments, %s of records", rep.Segments, humanBytes(rep.SegmentBytes))
	if rep.BudgetBytes != nil {
		usage += fmt.Sprintf(" (%.1f%% of the %s budget)", 100**rep.BudgetUsed, humanBytes(*rep.BudgetBytes))
	}
	fmt.Fprintf(w, "Disk:       %s; %s in all files\n", usage, humanBytes(rep.DiskBytes))
	fmt.Fprintf(w, "Records:    %d entries; oldest %s; newest %s\n", rep.Entries, humanTime(rep.OldestRecord, now), humanTime(rep.NewestRecord, now))
	if len(rep.Namespaces) > 0 {
		fmt.Fprintln(w)
		printStreams(w, rep.Namespaces, now)
	}
	fmt.Fprintln(w)
	printGroups(w, rep.Groups, rep.DamagedOffsetFiles, now)
}

func printStreams(w io.Writer, nss []namespaceReport, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tSEGMENTS\tBYTES\tENTRIES\tFIRST\tEND\tOLDEST RECORD\tNEWEST RECORD")
	for _, nr := range nss {
		fmt.Fprintf(tw, "%s:%s (%d shards)\t%d\t%s\t%d\t\t\t%s\t%s\n", nr.Namespace, nr.Version, len(nr.Shards),
			nr.Segments, humanBytes(nr.SegmentBytes), nr.Entries, humanTime(nr.OldestRecord, now), humanTime(nr.NewestRecord, now))
		for _, sr := range nr.Shards {
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%d\t%d\t%d\t%s\t%s\n", sr.Stream, sr.Segments, humanBytes(sr.SegmentBytes),
				sr.Entries, sr.FirstEntry, sr.EndEntry, humanTime(sr.OldestRecord, now), humanTime(sr.NewestRecord, now))
		}
	}
	_ = tw.Flush()
}

func printGroups(w io.Writer, groups []groupReport, damaged []damagedOffsetFile, now time.Time) {
	if len(groups) == 0 {
		fmt.Fprintln(w, "No consumer groups.")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tSTREAM\tOFFSET\tEND\tLAG\tOLDEST UNACKNOWLEDGED")
		for _, g := range groups {
			fmt.Fprintf(tw, "%s\t%s:%s (%d shards)\t\t\t%d\t%s\n", g.Group, g.Namespace, g.Version, len(g.Shards), g.Lag, humanTime(g.OldestUnacked, now))
			for _, s := range g.Shards {
				offset := "not read yet"
				if s.Offset != nil {
					offset = fmt.Sprint(*s.Offset)
				}
				fmt.Fprintf(tw, "\t  %s\t%s\t%d\t%d\t%s\n", s.Stream, offset, s.End, s.Lag, humanTime(s.OldestUnacked, now))
			}
		}
		_ = tw.Flush()
	}
	for _, d := range damaged {
		fmt.Fprintf(w, "Damaged offset file of %s: %s: %s (its group restarts from the oldest entry on this shard)\n", d.Stream, d.File, d.Error)
	}
}
