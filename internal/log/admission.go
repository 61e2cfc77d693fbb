// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Admission: what an Append does when the byte budget is full. It asks
// retention (retention.go) to make room first; what retention may delete
// is retention's rule alone (mayDelete). Only then does the WhenFull
// policy apply: wait for space, refuse, or drop the oldest segment
// whatever it holds.

// retryFullEvery is how often a blocked Append re-runs retention when no
// acknowledgement in this process woke it (consumers in other processes).
const retryFullEvery = 100 * time.Millisecond

// spaceState coordinates appends waiting for space with the events that
// free it: acknowledgements and deletions.
type spaceState struct {
	mu      sync.Mutex // serialises retention runs
	lastRun time.Time
	lastAck int64

	acks  atomic.Int64 // acknowledgements so far: a changed count may free space
	freed notifier     // signalled when retention deleted something or a group acked
}

// acked records an acknowledgement in this process.
func (sp *spaceState) acked() {
	sp.acks.Add(1)
	sp.freed.notify()
}

func (sp *spaceState) wakeAll() { sp.freed.notify() }

// The budget is a hard bound on the bytes of records: an append reserves
// its bytes (admitting) before it writes, so appends running at once on
// different shards cannot together go past MaxTotalSize, nor appends to
// one shard past MaxShardSize. Beside the records, each sealed segment
// has its sparse index file (a few KiB) and each group an offset file per
// shard; those are not counted. Multi-process writers share their figures
// (usage.go) and may together go past MaxTotalSize by one batch each.

// reserveSpace reserves n bytes for an append to s if the budgets allow
// them, counting the appends already admitted and not yet written. Two
// appends that race for the last room may both be refused: each then asks
// retention again.
func (c *Client) reserveSpace(s *shard, n int64) bool {
	r := &c.cfg.Retention
	total, inShard := c.admitting.Add(n), s.admitting.Add(n)
	if r.MaxTotalSize > 0 && c.budgetBytes()+total > r.MaxTotalSize ||
		r.MaxShardSize > 0 && s.bytes.Load()+inShard > r.MaxShardSize {
		c.releaseSpace(s, n)
		return false
	}
	return true
}

// releaseSpace gives back a reservation once its append is written (the
// bytes then count in diskBytes) or failed.
func (c *Client) releaseSpace(s *shard, n int64) {
	if n == 0 {
		return
	}
	c.admitting.Add(-n)
	s.admitting.Add(-n)
}

// admit applies the full policy before an append of n bytes to s. It
// returns the bytes it reserved (0 without a budget): the caller gives
// them back with releaseSpace after its write, whatever the outcome.
func (c *Client) admit(ctx context.Context, s *shard, n int64) (reserved int64, err error) {
	r := &c.cfg.Retention
	if r.MaxTotalSize == 0 && r.MaxShardSize == 0 {
		return 0, nil
	}
	if budget := min(nonZero(r.MaxTotalSize), nonZero(r.MaxShardSize)); n > budget {
		return 0, fmt.Errorf("%w: a batch of %d bytes can never fit the retention budget of %d bytes", ErrEntryTooLarge, n, budget)
	}
	waited := false
	for {
		if c.reserveSpace(s, n) {
			return n, nil
		}
		wake := c.space.freed.wait()
		c.runRetention(s, n)
		if c.reserveSpace(s, n) {
			return n, nil
		}
		switch r.WhenFull {
		case FullReject:
			c.stats.fullRejections.Add(1)
			return 0, fmt.Errorf("%w: %s holds %d bytes (budget %d); consumers have not acknowledged enough to free a segment",
				ErrFull, c.dir, c.budgetBytes(), r.MaxTotalSize)
		case FullDropOldest:
			if !c.dropOldest(s) {
				c.stats.fullRejections.Add(1)
				return 0, fmt.Errorf("%w: nothing left to drop in %s", ErrFull, c.dir)
			}
		case FullBlock:
			if !waited {
				c.stats.fullWaits.Add(1)
				waited = true
			}
			if err := c.waitForSpace(ctx, wake); err != nil {
				return 0, err
			}
		}
	}
}

func nonZero(v int64) int64 {
	if v == 0 {
		return 1<<63 - 1
	}
	return v
}

// waitForSpace blocks until something may have freed space.
func (c *Client) waitForSpace(ctx context.Context, wake <-chan struct{}) error {
	t := time.NewTimer(retryFullEvery)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("%w: waited for space until the context ended: %w", ErrFull, ctx.Err())
	case <-c.stop:
		return ErrClosed
	case <-wake:
	case <-t.C:
	}
	return nil
}

// dropOldest deletes the oldest segment for FullDropOldest, consumed or
// not: of the shard when its own budget is exceeded, else of the whole
// directory. An active segment is sealed first so it can go. It reports
// whether anything was deleted.
func (c *Client) dropOldest(s *shard) bool {
	c.space.mu.Lock()
	defer c.space.mu.Unlock()
	var victim shardSegment
	if r := &c.cfg.Retention; r.MaxShardSize > 0 && s.bytes.Load() > r.MaxShardSize {
		victim = shardSegment{s, s.segments()[0]}
	} else if all := c.oldestSegments(); len(all) > 0 {
		victim = all[0]
	} else {
		return false
	}
	if victim.seg.size.Load() == 0 {
		return false
	}
	if !victim.seg.sealed.Load() {
		if sealed, err := victim.s.sealActive(); !sealed {
			if err != nil {
				c.log.Warn("Could not seal a segment to drop it", zap.Error(err))
			}
			return false
		}
	}
	return c.removeSegment(victim.s, victim.seg, "drop_oldest") == nil
}
