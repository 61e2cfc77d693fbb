// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// This file is the inspection face of the log, for operators' tools: list
// streams, scan records with their append times, and read consumer-group
// positions as stored. On a ReadOnly client none of it writes to the
// directory: it opens segment, index and offset files for reading only.
// (A ReadOnly Consumer does write: its group's offset files.)

// Record is an entry as ScanRecords returns it.
type Record struct {
	Location
	// Time is when the entry was appended (the record header's timestamp).
	Time time.Time
	// Data is the entry. It is never reused by the Client.
	Data []byte
}

// Streams returns the canonical names of the streams in the directory,
// sorted. A ReadOnly client first looks for streams another process
// created since it opened.
func (c *Client) Streams() ([]string, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if err := c.discover(namespaceKey{}); err != nil {
		return nil, err
	}
	shards := c.allShards()
	names := make([]string, len(shards))
	for i, s := range shards {
		names[i] = s.name
	}
	slices.Sort(names)
	return names, nil
}

// StreamsOnDisk returns the names of the streams whose shard directories
// are in dir, sorted, without opening them or reading any segment: a
// cheap test of whether dir is a data directory.
func StreamsOnDisk(dir string) ([]string, error) {
	keys, err := shardDirsOnDisk(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name()
	}
	return names, nil
}

// ScanRecords calls fn with every readable entry of the stream from entry
// number from on, in order, with its location and append time. Damaged
// records are skipped (logged and counted once per place, as for
// consumers); a caller sees the gap in entry numbers. It stops at the end
// of the data when it gets there (on a ReadOnly client, including what the
// writer appended meanwhile), at the first error fn returns, or when ctx
// ends. It decodes about scanRecordsBytes at a time, so a caller that
// pauses inside fn holds that much memory per stream.
func (c *Client) ScanRecords(ctx context.Context, stream string, from int64, fn func(Record) error) error {
	s, err := c.existingShard(stream)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	cur := &cursor{s: s, track: true, trackTimes: true}
	defer cur.close()
	if _, err := cur.seek(max(from, 0)); err != nil {
		return err
	}
	for ctx.Err() == nil {
		cur.locs, cur.times = cur.locs[:0], cur.times[:0]
		msgs, _, err := cur.read(entryQuota(recordsPerRead(cur.avgSize)), nil)
		if err != nil || len(msgs) == 0 {
			return err
		}
		for i, m := range msgs {
			r := Record{Location: cur.locs[i], Time: time.Unix(0, cur.times[i]), Data: m.Data}
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// scanRecordsBytes is about how many bytes of records ScanRecords decodes
// per read.
const scanRecordsBytes = 1 << 20

// recordsPerRead sizes a read of ScanRecords from the recent average
// record size: a few records until the size is known.
func recordsPerRead(avgSize int64) int {
	if avgSize <= 0 {
		return 16
	}
	return int(min(max(scanRecordsBytes/avgSize, 1), scanBatch))
}

// GroupPosition is a consumer group's offset on one shard, as stored in
// its offset file (or held in memory by consumers of this client).
type GroupPosition struct {
	Stream string // canonical stream name of the shard
	Group  string // empty when the file is damaged
	Offset int64  // next entry the group reads
	File   string // the offset file
	// Err says why the file could not be read. A damaged offset file
	// makes its group restart on this shard from the oldest entry the
	// next time a consumer of the group uses it.
	Err error
}

// GroupPositions returns the position of every consumer group on the
// shards of stream: "ns:ver:shard:*" for every shard of a namespace, or one
// stream. Offset files that cannot be read are returned with Err set.
// Sorted by stream, then group. Cost: one small file read per group and
// shard.
func (c *Client) GroupPositions(stream string) ([]GroupPosition, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	nk, single, err := parsePattern(stream)
	if err != nil {
		return nil, err
	}
	if err := c.discover(nk); err != nil {
		return nil, err
	}
	var out []GroupPosition
	for _, s := range c.shardsOf(nk) {
		if single != nil && s.key.shard != *single {
			continue
		}
		ps, err := s.groups.positions()
		if err != nil {
			return nil, fmt.Errorf("list consumer groups of %s: %w", s.name, err)
		}
		out = append(out, ps...)
	}
	slices.SortStableFunc(out, func(a, b GroupPosition) int {
		if a.Stream != b.Stream {
			return strings.Compare(a.Stream, b.Stream)
		}
		return strings.Compare(a.Group, b.Group)
	})
	return out, nil
}

// positions reports the groups of the shard: those used in this process
// from memory, the others from their files, damaged files included.
func (t *groupTable) positions() ([]GroupPosition, error) {
	names, err := t.foreignFiles()
	if err != nil {
		return nil, err
	}
	var out []GroupPosition
	for _, g := range t.loaded() {
		out = append(out, GroupPosition{Stream: t.s.name, Group: g.name, Offset: g.offset.Load(), File: g.path})
	}
	for _, name := range names {
		p := GroupPosition{Stream: t.s.name, File: filepath.Join(t.dir(), name)}
		b, err := os.ReadFile(p.File)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted since it was listed
		}
		if err == nil {
			p.Group, p.Offset, _, err = decodeOffsetFile(b)
		}
		if err == nil && groupFileName(p.Group) != name {
			err = fmt.Errorf("%w: it holds group %q, whose file is named %s", errBadOffsetFile, p.Group, groupFileName(p.Group))
		}
		if err != nil {
			p.Group, p.Offset, p.Err = "", 0, err
		}
		out = append(out, p)
	}
	return out, nil
}
