// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/comet-otel/comet/internal/log"

	"github.com/comet-otel/comet/internal/otlpstream"
)

// exportOptions are export's flags, checked.
type exportOptions struct {
	sel      selection
	sig      *otlpstream.Converter
	group    string
	from, to *time.Time
	limit    int64
	format   string
	output   string
	quiet    bool
}

func runExport(ctx context.Context, args []string, out *output) error {
	fs := newFlags(out, "cometctl export DIR --stream S [--group G] [--from TIME] [--to TIME] [--limit N] [-o FILE] [--format json|proto]", `
Writes the records of the data directory DIR as OTLP: --format json (the
default) writes one OTLP JSON request per line, as the collector's file
exporter does; --format proto writes each stored record unchanged, as a
4-byte big-endian length then the OTLP protobuf request (the file
exporter's "proto" format). Records of all selected shards are written in
append-time order (one shard's records always in entry order). Without
--group, everything on disk is written; with it, only what the group has
not acknowledged. --from and --to keep records appended at or after
--from and before --to (RFC 3339, a duration back from now such as -2h,
or now). What is appended while the export runs is not included. Damaged
records are skipped, named on stderr, and make the exit status 1. Reads
only: it takes no lock and changes nothing.`)
	stream := fs.String("stream", "", "what to export: a signal (traces, metrics, logs, profiles: all its shards), a pattern (logs:v1:shard:*) or a stream (logs:v1:shard:0003); required")
	group := fs.String("group", "", "export only what this consumer group has not acknowledged")
	from := fs.String("from", "", "keep records appended at or after this time")
	to := fs.String("to", "", "keep records appended before this time")
	limit := fs.Int64("limit", 0, "stop after this many records (0: no limit)")
	format := fs.String("format", "json", "json (OTLP JSON lines) or proto (length-delimited OTLP protobuf)")
	output := fs.String("o", "-", "output file (written whole, then renamed into place); - is stdout")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	pos, err := parseArgs(fs, args, "DIR")
	if err != nil {
		return err
	}
	opts := exportOptions{group: *group, limit: *limit, format: *format, output: *output, quiet: *quiet}
	if err := opts.check(fs, *stream, *from, *to, time.Now()); err != nil {
		return err
	}
	dir, err := dataDir(pos[0])
	if err != nil {
		return err
	}
	if err := outsideDir(opts.output, dir); err != nil {
		return usageErrorf(fs, "%v", err)
	}
	c, err := openReadOnly(dir, out.stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	return export(ctx, c, dir, &opts, out)
}

// check validates the flags.
func (o *exportOptions) check(fs *flag.FlagSet, stream, from, to string, now time.Time) error {
	var err error
	if o.sel, o.sig, err = signalFlag(fs, stream); err != nil {
		return err
	}
	if o.format != "json" && o.format != "proto" {
		return usageErrorf(fs, "--format %q: want json or proto", o.format)
	}
	if o.limit < 0 {
		return usageErrorf(fs, "--limit must not be negative")
	}
	for _, f := range []struct {
		name, value string
		dst         **time.Time
	}{{"from", from, &o.from}, {"to", to, &o.to}} {
		if f.value == "" {
			continue
		}
		t, err := parseTime(f.value, now)
		if err != nil {
			return usageErrorf(fs, "--%s %v", f.name, err)
		}
		*f.dst = &t
	}
	if o.from != nil && o.to != nil && !o.from.Before(*o.to) {
		return usageErrorf(fs, "--from (%s) must be before --to (%s)", o.from.Format(time.RFC3339Nano), o.to.Format(time.RFC3339Nano))
	}
	return nil
}

// export writes the selected records to the output.
func export(ctx context.Context, c *log.Client, dir string, o *exportOptions, out *output) error {
	names, err := c.Streams()
	if err != nil {
		return err
	}
	streams := o.sel.pick(names)
	if o.sel.shard != nil && len(streams) == 0 {
		return fmt.Errorf("%s has no stream %s", dir, o.sel.pattern())
	}
	plans, err := planExport(c, streams, o, out)
	if err != nil {
		return err
	}
	w, err := createOutput(o.output, out.stdout)
	if err != nil {
		return err
	}
	res, err := copyRecords(ctx, c, plans, o, w, out)
	if err != nil {
		w.abort()
		return err
	}
	if err := w.commit(); err != nil {
		return err
	}
	return res.report(o, len(streams), out)
}
