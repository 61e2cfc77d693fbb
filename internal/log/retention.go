// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"go.uber.org/zap"
)

// ForceRetentionCleanup applies retention now instead of at the next
// CleanupInterval.
func (c *Client) ForceRetentionCleanup() {
	if !c.readOnly && !c.closed.Load() {
		c.runRetention(nil, 0)
	}
}

// runRetention deletes the sealed segments retention allows and, when an
// append of need bytes to target is waiting, makes room for it if a
// budget requires. Under that pressure, repeated calls within a few
// milliseconds with no acknowledgement in between return at once. It
// returns how soon an idle, fully consumed active segment becomes
// deletable (0: none is waiting), so the background loop looks again
// then rather than a cleanup interval later.
func (c *Client) runRetention(target *shard, need int64) (recheck time.Duration) {
	pressure := need > 0
	sp := &c.space
	sp.mu.Lock()
	defer sp.mu.Unlock()
	acks := sp.acks.Load()
	if pressure && acks == sp.lastAck && time.Since(sp.lastRun) < 10*time.Millisecond {
		return 0
	}
	sp.lastRun, sp.lastAck = time.Now(), acks
	now := c.clock.since()
	c.cleanAll(now, target, need)
	if c.overAnyBudget(target, need) || !pressure && c.cfg.Retention.DeleteConsumed {
		// Data still sits in active segments, which retention cannot
		// delete: seal those it may delete (all of them under pressure,
		// idle ones otherwise) and try again.
		var sealed bool
		if sealed, recheck = c.sealDeletableActives(pressure, now); sealed {
			c.cleanAll(now, target, need)
		}
	}
	return recheck
}

// cleanAll applies retention to every shard this client writes, then the
// total budget.
func (c *Client) cleanAll(now time.Duration, target *shard, need int64) {
	for _, s := range c.ownShards() {
		c.cleanShard(&c.cfg.Retention, s, now, needOf(s, target, need))
	}
	if max := c.cfg.Retention.MaxTotalSize; max > 0 {
		for c.budgetBytes()+need > max && c.deleteGloballyOldest(now) {
		}
	}
}

// ownShards returns the shards this client writes, and so keeps.
func (c *Client) ownShards() []*shard {
	all := c.allShards()
	own := all[:0]
	for _, s := range all {
		if !s.readOnly {
			own = append(own, s)
		}
	}
	return own
}

// needOf is the room an append waits for in shard s.
func needOf(s, target *shard, need int64) int64 {
	if s == target {
		return need
	}
	return 0
}

// overAnyBudget reports whether the directory or a shard, with need more
// bytes for target, is over budget.
func (c *Client) overAnyBudget(target *shard, need int64) bool {
	r := &c.cfg.Retention
	if r.MaxTotalSize > 0 && c.budgetBytes()+need > r.MaxTotalSize {
		return true
	}
	if r.MaxShardSize > 0 {
		for _, s := range c.ownShards() {
			if s.bytes.Load()+needOf(s, target, need) > r.MaxShardSize {
				return true
			}
		}
	}
	return false
}

// idleSealAfter is how long an active segment must go without appends
// before retention seals it because every group has consumed it: long
// enough that a busy shard is not rotated at every acknowledgement.
const idleSealAfter = time.Second

// sealDeletableActives rotates non-empty active segments whose data
// retention may delete (acknowledged by every group, not protected, or
// older than ForceDeleteAfter): all of them under pressure, otherwise
// those without appends for idleSealAfter. It reports whether it sealed
// any, and the time until the next deletable one becomes idle enough.
func (c *Client) sealDeletableActives(pressure bool, now time.Duration) (sealed bool, recheck time.Duration) {
	for _, s := range c.ownShards() {
		active := s.active()
		if active.size.Load() == 0 {
			continue
		}
		if allowed, _ := c.mayDelete(s, active, now); !allowed {
			continue
		}
		if wait := idleSealAfter - ageOf(active, now); !pressure && wait > 0 {
			if recheck == 0 || wait < recheck {
				recheck = wait
			}
			continue
		}
		switch ok, err := s.sealActive(); {
		case err != nil:
			c.log.Warn("Could not seal a consumed segment to delete it", zap.Error(err))
		case ok:
			sealed = true
		}
	}
	return sealed, recheck
}

// cleanShard deletes the shard's oldest sealed segments while, under r,
// they are expired, the shard (with need more bytes) is over its budget,
// or (DeleteConsumed) every group has acknowledged them, and retention
// allows it. r is the client's retention, or for a reader reclaiming in
// a writer's place, the writer's policy (reclaim.go).
func (c *Client) cleanShard(r *RetentionConfig, s *shard, now time.Duration, need int64) {
	for {
		segs := s.segments()
		if len(segs) <= r.MinFilesToKeep {
			return
		}
		oldest := segs[0]
		var allowed bool
		var err error
		reason := "max_age"
		switch {
		case r.MaxAge > 0 && ageOf(oldest, now) > r.MaxAge:
			allowed, err = c.deletionAllowed(s, oldest, now)
		case r.MaxShardSize > 0 && s.bytes.Load()+need > r.MaxShardSize:
			reason = "max_shard_size"
			allowed, err = c.deletionAllowed(s, oldest, now)
		case r.DeleteConsumed:
			reason = "consumed"
			allowed, err = consumedByAll(s, oldest)
		}
		if err != nil || !allowed {
			return
		}
		if err := c.removeSegment(s, oldest, reason); err != nil {
			return
		}
	}
}

// kickRetention asks the background retention loop to run soon.
func (c *Client) kickRetention() {
	select {
	case c.retentionKick <- struct{}{}:
	default:
	}
}

// minKickSpacing is the shortest time between two retention runs asked
// for by acknowledgements, so a consumer that keeps up with the writer
// does not turn every acknowledgement into a retention run.
const minKickSpacing = 100 * time.Millisecond

// retentionLoop runs retention every CleanupInterval, soon after a kick
// (but at most every minKickSpacing), and when an idle consumed segment
// is due.
func (c *Client) retentionLoop() {
	defer c.bg.Done()
	runEvery(c.stop, c.retentionKick, c.cfg.Retention.CleanupInterval, func() time.Duration {
		return c.runRetention(nil, 0)
	})
}

// runEvery calls run every interval until stop closes, and soon after a
// kick (at most every minKickSpacing). run returns how soon it wants to
// run again (0: at the interval).
func runEvery(stop <-chan struct{}, kick <-chan struct{}, interval time.Duration, run func() (recheck time.Duration)) {
	var last time.Time
	due := time.Now().Add(interval)
	t := time.NewTimer(time.Until(due))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-kick:
			if soon := last.Add(minKickSpacing); soon.Before(due) {
				due = soon
				t.Reset(time.Until(due))
			}
			continue
		case <-t.C:
		}
		last = time.Now()
		next := interval
		if recheck := run(); recheck > 0 {
			next = min(next, recheck+10*time.Millisecond)
		}
		due = last.Add(next)
		t.Reset(next)
	}
}

// deleteGloballyOldest deletes the oldest deletable first segment among
// all shards, for the total budget. It reports whether it deleted one.
func (c *Client) deleteGloballyOldest(now time.Duration) bool {
	candidates := c.oldestSegments()
	for _, cand := range candidates {
		if len(cand.s.segments()) <= c.cfg.Retention.MinFilesToKeep {
			continue
		}
		if ok, err := c.deletionAllowed(cand.s, cand.seg, now); err == nil && ok {
			return c.removeSegment(cand.s, cand.seg, "retention") == nil
		}
	}
	return false
}

type shardSegment struct {
	s   *shard
	seg *segment
}

// oldestSegments returns the first segment of each shard this client
// writes, oldest data first.
func (c *Client) oldestSegments() []shardSegment {
	var out []shardSegment
	for _, s := range c.ownShards() {
		if segs := s.segments(); len(segs) > 0 && segs[0].size.Load() > 0 {
			out = append(out, shardSegment{s, segs[0]})
		}
	}
	slices.SortFunc(out, func(a, b shardSegment) int {
		return cmp.Compare(a.seg.minTs.Load(), b.seg.minTs.Load())
	})
	return out
}

// deletionAllowed reports whether retention may delete a sealed segment
// (mayDelete); an active one never is.
func (c *Client) deletionAllowed(s *shard, seg *segment, now time.Duration) (bool, error) {
	if !seg.sealed.Load() {
		return false, nil
	}
	return c.mayDelete(s, seg, now)
}

// mayDelete is the one rule for whether retention may delete seg's data
// (once sealed): always without ProtectUnconsumed, once older than
// ForceDeleteAfter when set, and otherwise once every group of the shard
// has acknowledged all of it. The segment's removal (removeSegment) makes
// the offsets it relied on durable first.
func (c *Client) mayDelete(s *shard, seg *segment, now time.Duration) (bool, error) {
	r := &c.cfg.Retention
	if r.ForceDeleteAfter > 0 && ageOf(seg, now) > r.ForceDeleteAfter {
		return true, nil
	}
	if !r.ProtectUnconsumed {
		return true, nil
	}
	return consumedByAll(s, seg)
}

// consumedByAll reports whether every group of the shard has acknowledged
// all of seg. A shard no group has read is unconsumed.
func consumedByAll(s *shard, seg *segment) (bool, error) {
	return consumedUpTo(s, seg.end())
}

// consumedUpTo reports whether every group of the shard has acknowledged
// every entry before end.
func consumedUpTo(s *shard, end int64) (bool, error) {
	groups, err := s.groups.onDisk()
	if err != nil {
		return false, err
	}
	if len(groups) == 0 {
		return false, nil
	}
	for _, g := range groups {
		if g.offset.Load() < end {
			return false, nil
		}
	}
	return true, nil
}

// sealActive rotates a non-empty active segment so retention may delete
// it. It reports whether it did.
func (s *shard) sealActive() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil || s.active().size.Load() == 0 {
		return false, nil
	}
	if err := s.rotate(); err != nil {
		return false, fmt.Errorf("seal the active segment of %s: %w", s.name, err)
	}
	return true, nil
}

// removeSegment deletes a sealed segment and its index, counting entries
// that some group had not acknowledged. The groups' offsets are made
// durable first, so deleting a consumed segment is crash-atomic with the
// offsets that allowed it: after a power loss no offset points before a
// segment that is gone because of it. If they cannot be (a full disk
// refuses a new offset file), the segment is deleted anyway: its entries
// were acknowledged, freeing space matters more, and the only cost of a
// power loss then is a gap counted as lost that was in fact delivered.
func (c *Client) removeSegment(s *shard, seg *segment, reason string) error {
	if err := s.groups.syncFiles(); err != nil {
		c.stats.errors.Add(1)
		c.log.Warn("Deleting a segment before consumer offsets are durable",
			zap.String("file", seg.path), zap.Error(err))
	}
	s.segMu.Lock()
	i := slices.Index(s.segs, seg)
	if i < 0 || i == len(s.segs)-1 {
		s.segMu.Unlock()
		return errors.New("segment is not deletable")
	}
	s.segs = slices.Delete(s.segs, i, i+1)
	s.segMu.Unlock()
	seg.markGone()

	if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.stats.errors.Add(1)
		c.log.Error("Could not delete segment", zap.String("file", seg.path), zap.Error(err))
	}
	if err := os.Remove(seg.idxPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.log.Warn("Could not delete segment index", zap.String("file", seg.idxPath), zap.Error(err))
	}
	// No directory fsync: a deletion lost to a power cut brings back a
	// segment every group had already passed (or that was given up), which
	// the next cleanup deletes again.
	size, count := seg.size.Load(), seg.count.Load()
	s.bytes.Add(-size)
	c.diskBytes.Add(-size)
	if !s.readOnly {
		c.noteOwnBytes(-size)
	}
	c.stats.deletedFiles.Add(1)
	c.stats.deletedEntries.Add(count)
	dropped := s.groups.noteDeleted(seg, reason != reasonDeletedByCaller)
	if dropped > 0 {
		c.stats.droppedUnconsumed.Add(dropped)
		c.log.Error("Deleted entries a consumer group had not acknowledged",
			zap.String("file", seg.path), zap.String("reason", reason), zap.Int64("entries", dropped))
	}
	c.log.Debug("Deleted segment", zap.String("file", seg.path), zap.String("reason", reason), zap.Int64("entries", count))
	c.space.freed.notify()
	return nil
}
