// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// This file is the random-access face of the log, for callers that keep
// their own index of entries (the key-value store behind comet_storage):
// append and learn where each record went, read a record by location,
// scan a stream with locations, and manage segments directly.

// Location is where an entry's record lies on disk.
type Location struct {
	ID      MessageID
	Segment int64 // first entry number of the segment holding the record
	Offset  int64 // byte offset of the record in that segment
	Size    int64 // bytes of the record on disk (header and stored payload)
}

// SegmentInfo describes one segment of a stream.
type SegmentInfo struct {
	FirstEntry int64 // entry number of its first record
	EndEntry   int64 // entry number after its last record
	Bytes      int64
	Sealed     bool // sealed segments never change; the last one is active
	MinTime    time.Time
	MaxTime    time.Time
}

// AppendLocated is Append that also returns where each entry was written.
func (c *Client) AppendLocated(ctx context.Context, stream string, entries [][]byte) ([]Location, error) {
	s, err := c.writableShard(stream, entries)
	if s == nil {
		return nil, err
	}
	var locs []Location
	_, err = s.appendWith(ctx, entries, func(first int64, seg *segment, segPos int64, b *batch) {
		locs = make([]Location, len(b.starts))
		for i, start := range b.starts {
			end := len(b.buf)
			if i+1 < len(b.starts) {
				end = b.starts[i+1]
			}
			locs[i] = Location{
				ID:      MessageID{EntryNumber: first + int64(i), ShardID: s.key.shard},
				Segment: seg.base,
				Offset:  segPos + int64(start),
				Size:    int64(end - start),
			}
		}
	})
	return locs, err
}

// ReadAt returns the entry whose record is at loc, after checking its
// checksum. It fails with ErrEntryGone when the segment was deleted and
// with a *CorruptionError when the record is damaged. Cost: one read of
// loc.Size bytes.
func (c *Client) ReadAt(ctx context.Context, stream string, loc Location) ([]byte, error) {
	s, err := c.existingShard(stream)
	if err != nil {
		return nil, err
	}
	seg := s.segmentFor(loc.Segment)
	if seg == nil || seg.base != loc.Segment || loc.Offset < 0 || loc.Size < headerSize || loc.Offset+loc.Size > seg.size.Load() {
		return nil, fmt.Errorf("%w: %s has no record at segment %d offset %d", ErrEntryGone, s.name, loc.Segment, loc.Offset)
	}
	f, err := seg.acquire()
	if errors.Is(err, errSegmentGone) {
		return nil, fmt.Errorf("%w: segment %d of %s was deleted", ErrEntryGone, loc.Segment, s.name)
	}
	if err != nil {
		return nil, err
	}
	defer seg.release()
	rec := make([]byte, loc.Size)
	if _, err := f.ReadAt(rec, loc.Offset); err != nil {
		return nil, fmt.Errorf("read %s at offset %d: %w", seg.path, loc.Offset, err)
	}
	h, ok := parseHeader(rec)
	if !ok || h.recordSize() != loc.Size || !checksumOK(h, rec) {
		return nil, &CorruptionError{File: seg.path, Offset: loc.Offset, Entry: loc.ID.EntryNumber, Reason: "record does not match its location or checksum"}
	}
	return decodePayload(rec[headerSize:], h.flags)
}

// Scan calls fn with every readable entry of the stream from entry number
// from on, in order, with its location. Damaged records are skipped and
// counted, as for consumers. Scan stops at the end of the data present
// when it gets there, or at the first error fn returns.
func (c *Client) Scan(ctx context.Context, stream string, from int64, fn func(loc Location, data []byte) error) error {
	s, err := c.existingShard(stream)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	cur := &cursor{s: s, track: true}
	defer cur.close()
	if _, err := cur.seek(max(from, 0)); err != nil {
		return err
	}
	for ctx.Err() == nil {
		cur.locs = cur.locs[:0]
		msgs, _, err := cur.read(byteQuota(scanBatch, scanBytes), nil)
		if err != nil || len(msgs) == 0 {
			return err
		}
		for i, m := range msgs {
			if err := fn(cur.locs[i], m.Data); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// scanBatch and scanBytes bound what Scan decodes per read: records are
// held in memory until fn has seen them, and a read stops at either.
const (
	scanBatch = 1024
	scanBytes = 4 << 20
)

// Segments lists the stream's segments, oldest first.
func (c *Client) Segments(stream string) ([]SegmentInfo, error) {
	s, err := c.existingShard(stream)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	segs := s.segments()
	out := make([]SegmentInfo, len(segs))
	for i, seg := range segs {
		out[i] = SegmentInfo{
			FirstEntry: seg.base,
			EndEntry:   seg.end(),
			Bytes:      seg.size.Load(),
			Sealed:     seg.sealed.Load(),
			MinTime:    time.Unix(0, seg.minTs.Load()),
			MaxTime:    time.Unix(0, seg.maxTs.Load()),
		}
	}
	return out, nil
}

// DeleteSegment removes the sealed segment that starts at firstEntry,
// whatever retention and consumer groups say: for callers that decide
// themselves which records are still needed. The active segment cannot
// be deleted (Rotate it first).
func (c *Client) DeleteSegment(stream string, firstEntry int64) error {
	if c.readOnly {
		return ErrReadOnly
	}
	s, err := c.ownedShard(stream)
	if err != nil {
		return err
	}
	segs := s.segments()
	i := slices.IndexFunc(segs, func(seg *segment) bool { return seg.base == firstEntry })
	if i < 0 {
		return fmt.Errorf("%w: %s has no segment starting at entry %d", ErrEntryGone, s.name, firstEntry)
	}
	if i == len(segs)-1 {
		return fmt.Errorf("comet: segment %d of %s is active and cannot be deleted", firstEntry, s.name)
	}
	return c.removeSegment(s, segs[i], reasonDeletedByCaller)
}

// reasonDeletedByCaller is the deletion reason of DeleteSegment. Entries of
// a stream no consumer group reads are not counted as dropped when a caller
// deletes them: the caller decided they were no longer needed.
const reasonDeletedByCaller = "deleted by caller"

// Rotate seals the stream's active segment if it holds any record, so it
// can be deleted once its records are no longer needed.
func (c *Client) Rotate(stream string) error {
	if c.readOnly {
		return ErrReadOnly
	}
	s, err := c.ownedShard(stream)
	if err != nil {
		return err
	}
	_, err = s.sealActive()
	return err
}

// ownedShard is existingShard for a change to the shard (DeleteSegment,
// Rotate): in multi-process mode, only its slot's writer makes one.
func (c *Client) ownedShard(stream string) (*shard, error) {
	s, err := c.existingShard(stream)
	if err == nil && s.readOnly {
		return nil, fmt.Errorf("%w: %s", ErrNotOwner, stream)
	}
	return s, err
}

// existingShard resolves a stream name without creating the stream, from
// the same cache as Append when the name was seen before.
func (c *Client) existingShard(stream string) (*shard, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if v, ok := c.byName.Load(stream); ok {
		return v.(*shard), nil
	}
	k, err := parseStream(stream)
	if err != nil {
		return nil, err
	}
	return c.shardByKey(k, false)
}
