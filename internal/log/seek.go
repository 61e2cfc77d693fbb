// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"context"
	"fmt"
	"time"
)

// SeekToTime moves the group's offset on a shard to the first entry, in
// log order, stamped at or after t (its append time on the writer's wall
// clock), so the next Read replays from there (for example, the last two
// hours to a new backend). A t before every remaining entry puts the
// offset at the oldest entry; a t after the newest entry puts it at the
// end. If the wall clock went back while appending, entries after that
// position may be stamped before t: they are delivered too, and no entry
// stamped at or after t is ever passed over. Cost: a walk over segment
// time bounds, an index lookup and a scan of at most one index interval;
// a scan of one segment when its times go back.
func (c *Consumer) SeekToTime(ctx context.Context, shardID uint32, t time.Time) error {
	s, err := c.existingShard(shardID)
	if err != nil {
		return err
	}
	entry, err := s.entryAtTime(t.UnixNano())
	if err != nil {
		return err
	}
	g := c.group(s)
	g.set(entry)
	return nil
}

// entryAtTime returns the first entry with a timestamp at or after ts.
func (s *shard) entryAtTime(ts int64) (int64, error) {
	for _, seg := range s.segments() {
		if seg.count.Load() == 0 || seg.maxTs.Load() < ts {
			continue
		}
		return seg.entryAtTime(ts)
	}
	return s.next.Load(), nil
}

// entryAtTime returns the first entry of seg, in log order, stamped at or
// after ts. It scans from the last index point before ts when the
// segment's times never go back, else from the segment's start: after a
// wall clock went back, an entry stamped after ts may sit before points
// stamped before it, and the seek must never land past it.
func (seg *segment) entryAtTime(ts int64) (int64, error) {
	f, err := seg.acquire()
	if err != nil {
		return 0, err
	}
	defer seg.release()
	var p indexPoint
	if !seg.backwards.Load() && seg.index.timesOrdered() {
		p = seg.index.floorTime(ts)
	}
	limit := seg.size.Load()
	sc := newScanner(f, limit)
	pos, rel := p.pos, p.rel
	for pos < limit {
		h, _, st, err := sc.at(pos)
		if err != nil {
			return 0, fmt.Errorf("read %s at offset %d: %w", seg.path, pos, err)
		}
		if st == recOK && h.ts >= ts {
			return seg.base + rel, nil
		}
		var ok bool
		if pos, ok = sc.stepPast(pos, h, st); !ok {
			break // damaged to the end
		}
		rel++
	}
	return seg.end(), nil
}
