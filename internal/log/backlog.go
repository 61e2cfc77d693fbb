// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"context"
	"fmt"
	"time"
)

// OldestUnackedTime returns when the group's oldest unacknowledged entry on
// a shard was appended: how far behind the group is, in time. ok is false
// when the group has nothing left to read there. A group that has not
// touched the shard yet is behind by the shard's oldest entry. Cost: an
// index lookup and a scan of at most one index interval of headers.
func (c *Consumer) OldestUnackedTime(ctx context.Context, shardID uint32) (t time.Time, ok bool, err error) {
	if err := c.usable(); err != nil {
		return time.Time{}, false, err
	}
	s, exists, err := c.shard(shardID)
	if err != nil || !exists {
		return time.Time{}, false, err
	}
	if s.readOnly {
		s.refresh()
	}
	off := s.firstEntry()
	if g, joined := s.groups.get(c.opts.Group, false, 0); joined {
		off = max(off, g.offset.Load())
	}
	if off >= s.next.Load() {
		return time.Time{}, false, nil
	}
	seg := s.segmentFor(off)
	if seg == nil {
		return time.Time{}, false, nil
	}
	ts, found, err := seg.timeOfEntry(max(off-seg.base, 0))
	if err != nil || !found {
		return time.Time{}, false, err
	}
	return time.Unix(0, ts), true, nil
}

// timeOfEntry returns the timestamp of the first intact record at or
// after relative entry rel of seg.
func (seg *segment) timeOfEntry(rel int64) (ts int64, found bool, err error) {
	f, err := seg.acquire()
	if err != nil {
		return 0, false, err
	}
	defer seg.release()
	p := seg.index.floor(rel)
	limit := seg.size.Load()
	sc := newScanner(f, limit)
	for pos, at := p.pos, p.rel; pos < limit; at++ {
		h, _, st, err := sc.at(pos)
		if err != nil {
			return 0, false, fmt.Errorf("read %s at offset %d: %w", seg.path, pos, err)
		}
		if st == recOK && at >= rel {
			return h.ts, true, nil
		}
		var ok bool
		if pos, ok = sc.stepPast(pos, h, st); !ok {
			break // damaged to the end
		}
	}
	return 0, false, nil
}
