// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/comet-otel/comet/internal/log"

	"github.com/comet-otel/comet/internal/otlpstream"
)

// The comet exporter's defaults, which import applies unless told
// otherwise (see cometexporter/README.md).
const (
	defaultShards        = 16
	defaultSegmentSize   = 8 << 20 // derived from the default retention::max_size of 1 GiB
	defaultMaxRecordSize = 4 << 20
	defaultCompressMin   = 4096
	maxShards            = 4096
	minSegmentSize       = 64 << 10
	minRecordSize        = 1 << 10
	maxRecordSizeCap     = 1 << 30
)

// importOptions are import's flags, checked.
type importOptions struct {
	sel           selection
	sig           *otlpstream.Converter
	format        string
	shards        int // 0: as many as the namespace has, or defaultShards
	sync          log.SyncMode
	compression   log.Codec
	compressMin   int
	segmentSize   int64
	maxRecordSize int
	quiet         bool
}

func runImport(ctx context.Context, args []string, out *output) error {
	fs := newFlags(out, "cometctl import DIR FILE --stream S [flags]", `
Appends the requests in FILE (- for stdin) to the data directory DIR, as
the comet exporter appends them: CRC-32C per record, zstd above
--compression-min-size, fsync per --sync, and everything fsynced before
it returns. FILE holds OTLP JSON, one request per line (what the file
exporter and export --format json write), or length-delimited OTLP
protobuf (a 4-byte big-endian length, then the request: what export
--format proto writes); --format auto tells them apart by the first byte.
Protobuf records are stored unchanged; JSON requests are encoded with the
pdata protobuf marshaler. Requests go round robin to shards 0..N-1 of
the signal (--shards), one record each, or all to one stream. A regular
FILE is checked whole before anything is appended, so a bad file imports
nothing; from stdin, records before a bad one stay appended. DIR may be
missing or empty. Refused while a collector holds DIR's writer lock.`)
	stream := fs.String("stream", "", "where to append: a signal (traces, metrics, logs, profiles), its pattern (logs:v1:shard:*) or one stream (logs:v1:shard:0003); required")
	format := fs.String("format", formatAuto, "auto, json (OTLP JSON lines) or proto (length-delimited OTLP protobuf)")
	shards := fs.Int("shards", 0, "shards to spread requests over, round robin from shard 0 (default: as many as the signal has in DIR, else 16 like the exporter)")
	syncMode := fs.String("sync", "interval", "fsync policy while appending: none, interval (every second) or always (every record)")
	compression := fs.String("compression", "zstd", "zstd or none")
	compressMin := fs.Int("compression-min-size", defaultCompressMin, "records smaller than this many bytes are stored uncompressed")
	segmentSize := byteSize(defaultSegmentSize)
	fs.Var(&segmentSize, "segment-size", "size at which a segment is sealed, as the exporter's segment_size (the default is the exporter's with its default budget)")
	maxRecord := byteSize(defaultMaxRecordSize)
	fs.Var(&maxRecord, "max-record-size", "largest record, as the exporter's max_record_size; larger requests are refused")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	pos, err := parseArgs(fs, args, "DIR", "FILE")
	if err != nil {
		return err
	}
	opts := importOptions{format: *format, shards: *shards, compressMin: *compressMin,
		segmentSize: int64(segmentSize), maxRecordSize: int(maxRecord), quiet: *quiet}
	if err := opts.check(fs, *stream, *syncMode, *compression); err != nil {
		return err
	}
	dir, err := importDir(pos[0])
	if err != nil {
		return err
	}
	in, err := openInput(pos[1])
	if err != nil {
		return err
	}
	defer in.Close()
	return importFile(ctx, dir, in, pos[1], &opts, out)
}

func (o *importOptions) check(fs *flag.FlagSet, stream, syncMode, compression string) error {
	var err error
	if o.sel, o.sig, err = signalFlag(fs, stream); err != nil {
		return err
	}
	modes := map[string]log.SyncMode{"none": log.SyncNone, "interval": log.SyncInterval, "always": log.SyncAlways}
	codecs := map[string]log.Codec{"zstd": log.CodecZstd, "none": log.CodecNone}
	var ok bool
	switch {
	case o.format != formatAuto && o.format != formatJSON && o.format != formatProto:
		return usageErrorf(fs, "--format %q: want auto, json or proto", o.format)
	case o.shards < 0 || o.shards > maxShards:
		return usageErrorf(fs, "--shards must be between 1 and %d", maxShards)
	case o.segmentSize < minSegmentSize:
		return usageErrorf(fs, "--segment-size must be at least %d bytes", minSegmentSize)
	case o.maxRecordSize < minRecordSize || o.maxRecordSize > maxRecordSizeCap:
		return usageErrorf(fs, "--max-record-size must be between %d and %d bytes", minRecordSize, maxRecordSizeCap)
	case o.compressMin < 0:
		return usageErrorf(fs, "--compression-min-size must not be negative")
	}
	if o.sync, ok = modes[syncMode]; !ok {
		return usageErrorf(fs, "--sync %q: want none, interval or always", syncMode)
	}
	if o.compression, ok = codecs[compression]; !ok {
		return usageErrorf(fs, "--compression %q: want zstd or none", compression)
	}
	return nil
}

// engineConfig is the exporter's engine configuration with the flags.
func (o *importOptions) engineConfig() log.CometConfig {
	cfg := writerConfig()
	cfg.Storage.MaxFileSize = o.segmentSize
	cfg.Storage.MaxEntrySize = o.maxRecordSize
	cfg.Compression = log.CompressionConfig{Codec: o.compression, MinCompressSize: o.compressMin}
	cfg.Durability = log.DurabilityConfig{Mode: o.sync, Interval: time.Second, MaxPendingEntries: 10000}
	return cfg
}

// importDir accepts a missing or empty directory (the import creates the
// log) or a data directory; anything else is refused.
func importDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(abs)
	if errors.Is(err, os.ErrNotExist) || err == nil && len(entries) == 0 {
		return abs, nil
	}
	return dataDir(abs)
}

// input is the import file; regular files can be read twice.
type input struct {
	io.ReadCloser
	seekable bool
}

func openInput(path string) (*input, error) {
	if path == "-" {
		return &input{ReadCloser: io.NopCloser(os.Stdin)}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &input{ReadCloser: f, seekable: info.Mode().IsRegular()}, nil
}

// rewind goes back to the start of a regular file.
func (in *input) rewind() error {
	_, err := in.ReadCloser.(io.Seeker).Seek(0, io.SeekStart)
	return err
}

// importFile checks a regular file whole, then appends its requests.
func importFile(ctx context.Context, dir string, in *input, name string, o *importOptions, out *output) error {
	if in.seekable {
		if _, err := readAll(ctx, in, o, nil, out); err != nil {
			return fmt.Errorf("%s: %w; nothing was imported", name, err)
		}
		if err := in.rewind(); err != nil {
			return err
		}
	}
	c, err := openWriter(dir, o.engineConfig(), out.stderr, "import")
	if err != nil {
		return err
	}
	app, err := newAppender(c, o)
	if err != nil {
		_ = c.Close()
		return err
	}
	res, err := readAll(ctx, in, o, app, out)
	if cerr := c.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", dir, cerr)
	}
	if err != nil {
		return fmt.Errorf("%s: %w; %d records were appended before it", name, err, res.records)
	}
	fmt.Fprintf(out.stdout, "cometctl import: appended %d records (%d %s, %s) from %s (%s) to %s of %s\n",
		res.records, res.items, o.sig.Items, humanBytes(res.bytes), name, res.format, app.describe(), dir)
	return nil
}

// importResult counts what was read (and appended, with an appender).
type importResult struct {
	format  string
	records int64
	items   int64
	bytes   int64
}

// readAll reads every request of in; with an appender it appends each.
func readAll(ctx context.Context, in *input, o *importOptions, app *appender, out *output) (importResult, error) {
	var res importResult
	rr, format, err := newRecordReader(bufio.NewReaderSize(in, 1<<20), o.format, o.sig, o.maxRecordSize)
	if err != nil {
		return res, err
	}
	res.format = format
	verb := "checked"
	if app != nil {
		verb = "appended"
	}
	prog := newProgress(out.stderr, o.quiet)
	for ctx.Err() == nil {
		rec, err := rr.next()
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if err != nil {
			return res, err
		}
		if app != nil {
			if err := app.append(ctx, rec); err != nil {
				return res, fmt.Errorf("%s: %w", rec.where, err)
			}
		}
		res.records++
		res.items += int64(rec.items)
		res.bytes += int64(len(rec.proto))
		prog.update(func() string {
			return fmt.Sprintf("import: %d records (%s) %s", res.records, humanBytes(res.bytes), verb)
		})
	}
	return res, ctx.Err()
}
