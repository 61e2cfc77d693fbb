// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/log"
)

// Background reclamation of space, and key directory snapshots. Each
// round, every CheckInterval:
//
//  1. The active segment is sealed when it is mostly garbage and either a
//     quarter full or idle since the last round, so a drained store does
//     not keep a dead active segment.
//  2. Tombstones that no longer hide anything are dropped, after any
//     segment deletion (only deletions make tombstones unneeded).
//  3. Sealed segments nobody points to are deleted whole, after an fsync
//     that makes the records that superseded them durable.
//  4. Sealed segments whose garbage reaches compaction::ratio have their
//     live records copied to the active segment, one record at a time
//     under the client's lock, each copied only if its key still points
//     at the old record; then an fsync, then the segment is deleted.
//  5. Once snapshotEvery bytes of records (and four times the last
//     snapshot's size) were appended since the last key directory
//     snapshot, a new one is written, so that an open after a crash reads
//     little of the log.
//
// Steps 2 and 3 repeat while they free something, since deleting one
// segment can make the tombstones of the next unneeded, and again after
// each compaction.

const (
	// minRotateBytes is the smallest active segment sealed for being dead.
	minRotateBytes = 64 << 10
	// tombstoneChunk bounds the tombstones examined per lock hold.
	tombstoneChunk = 4096
)

var errStopScan = errors.New("stop scan")

// maintenance is the compaction goroutine's own state.
type maintenance struct {
	lastBatches   uint64         // client.batches at the previous round
	deletions     uint64         // segments deleted so far
	collectedAt   uint64         // deletions at the last tombstone collection
	uncompactable map[int64]bool // segments a compaction could not free
}

func (c *client) compactLoop() {
	defer c.bg.Done()
	t := time.NewTicker(c.set.compaction.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.maintain()
		case <-c.reclaim.kick:
			waiters := c.reclaim.take()
			c.maintain()
			for _, w := range waiters {
				close(w)
			}
		}
	}
}

func (c *client) stopping() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// maintain runs one round of reclamation. Only the compaction goroutine
// (or a test, with that goroutine idle) calls it.
//
// On a full disk (the reserve given up, see reserve.go) only segments that
// are nearly all garbage are compacted: copying their few live records
// costs little of the space the drain writes on and frees a whole segment,
// so that the requests a queue still has in flight do not pin a drained
// segment. The round ends by taking the reserve back if there is room.
func (c *client) maintain() {
	defer c.snapshotIfDue(context.Background())
	c.sealDeadActive()
	ratio := c.set.compaction.Ratio
	fullDisk := c.reserveGivenUpNow()
	if fullDisk {
		ratio = max(ratio, fullDiskCompactionRatio)
	}
	// Compact only segments sealed before the round: copies fill new
	// segments, and chasing those would make a round endless.
	c.mu.Lock()
	end := int64(-1)
	if n := len(c.kd.segs); n > 0 {
		end = c.kd.segs[n-1].base
	}
	c.mu.Unlock()
	tried := map[int64]bool{}
	for !c.stopping() {
		c.reclaimUnreferenced()
		seg := c.nextCompaction(end, tried, ratio)
		if seg == nil {
			break
		}
		tried[seg.base] = true
		c.compact(seg)
	}
	if fullDisk {
		c.retakeReserve()
	}
}

// fullDiskCompactionRatio is the least garbage share of a segment compacted
// while the disk is full.
const fullDiskCompactionRatio = 0.9

// reclaimUnreferenced deletes unreferenced segments and drops the
// tombstones each deletion makes unneeded, until neither frees anything.
func (c *client) reclaimUnreferenced() {
	for !c.stopping() {
		if c.maint.deletions != c.maint.collectedAt {
			c.maint.collectedAt = c.maint.deletions
			c.collectTombstones()
		}
		if c.deleteUnreferenced() == 0 {
			return
		}
	}
}

// sealDeadActive rotates the active segment when it is mostly garbage and
// large enough, or idle.
func (c *client) sealDeadActive() {
	c.mu.Lock()
	idle := c.batches == c.maint.lastBatches
	c.maint.lastBatches = c.batches
	var rotate bool
	if n := len(c.kd.segs); n > 0 && !c.closed {
		active := c.kd.segs[n-1]
		rotate = active.bytes >= minRotateBytes && active.deadRatio() >= c.set.compaction.Ratio &&
			(idle || active.bytes >= c.set.segmentSize/4)
	}
	c.mu.Unlock()
	if !rotate {
		return
	}
	if err := c.eng.Rotate(stream); err != nil {
		c.log.Warn("Could not seal the active segment", zap.Error(err))
		return
	}
	infos, err := c.eng.Segments(stream)
	if err != nil || len(infos) == 0 {
		return
	}
	c.mu.Lock()
	c.kd.segment(infos[len(infos)-1].FirstEntry) // the new active segment
	c.mu.Unlock()
}

// collectTombstones drops every tombstone that no longer hides a record,
// holding the lock for at most tombstoneChunk tombstones at a time.
func (c *client) collectTombstones() {
	c.mu.Lock()
	segs := append([]*segment(nil), c.kd.segs...)
	c.mu.Unlock()
	for _, seg := range segs {
		var keep []string
		for i := 0; ; {
			c.mu.Lock()
			if c.closed || c.kd.byBase[seg.base] != seg {
				c.mu.Unlock()
				break
			}
			end := min(i+tombstoneChunk, len(seg.tombs))
			for ; i < end; i++ {
				if c.kd.collectTombstone(seg, seg.tombs[i]) {
					keep = append(keep, seg.tombs[i])
				}
			}
			done := i == len(seg.tombs)
			if done {
				seg.tombs = keep
			}
			c.mu.Unlock()
			if done {
				break
			}
		}
	}
}

// deleteUnreferenced deletes the sealed segments no entry points to and
// returns how many it deleted.
func (c *client) deleteUnreferenced() int {
	c.mu.Lock()
	var victims []*segment
	if n := len(c.kd.segs); n > 1 && !c.closed {
		for _, s := range c.kd.segs[:n-1] {
			if s.unreferenced() {
				victims = append(victims, s)
			}
		}
	}
	c.mu.Unlock()
	if len(victims) == 0 {
		return 0
	}
	// The records that superseded the victims' records must survive a
	// power loss before the victims go.
	if err := c.eng.Sync(context.Background()); err != nil {
		c.log.Warn("Not deleting unneeded segments: fsync failed", zap.Error(err))
		return 0
	}
	deleted := 0
	for _, s := range victims {
		if c.deleteSegment(s) {
			deleted++
		}
	}
	c.set.events.report(c.set.events.deleted, int64(deleted))
	return deleted
}

// deleteSegment removes an unreferenced sealed segment from disk and from
// the key directory.
func (c *client) deleteSegment(s *segment) bool {
	err := c.eng.DeleteSegment(stream, s.base)
	if err != nil && !errors.Is(err, log.ErrEntryGone) {
		c.log.Warn("Could not delete an unneeded segment", zap.Int64("segment", s.base), zap.Error(err))
		return false
	}
	c.mu.Lock()
	c.kd.removeSegment(s)
	c.res.freed(s.bytes)
	c.mu.Unlock()
	c.maint.deletions++
	delete(c.maint.uncompactable, s.base)
	return true
}

// nextCompaction picks the oldest segment before end whose garbage reaches
// ratio that this round has not tried yet.
func (c *client) nextCompaction(end int64, tried map[int64]bool, ratio float64) *segment {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.kd.segs)
	if n < 2 || c.closed {
		return nil
	}
	for _, s := range c.kd.segs[:n-1] {
		if s.base >= end {
			break
		}
		if !tried[s.base] && !c.maint.uncompactable[s.base] && s.deadRatio() >= ratio {
			return s
		}
	}
	return nil
}

// compact copies the live records of a sealed segment forward and deletes
// it. Writers wait for at most one record copy at a time.
func (c *client) compact(seg *segment) {
	var ops []decodedOp
	var ws []write
	err := c.eng.Scan(context.Background(), stream, seg.base, func(loc log.Location, data []byte) error {
		if loc.Segment != seg.base || c.stopping() {
			return errStopScan
		}
		var err error
		if ops, err = parseRecord(data, ops[:0]); err != nil {
			return nil // reported when the client was opened
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return errStopScan
		}
		ws = c.liveWrites(seg, loc, data, ops, ws[:0])
		if len(ws) == 0 {
			return nil
		}
		record := encodeRecord(nil, ws)
		locs, err := c.eng.AppendLocated(context.Background(), stream, [][]byte{record})
		if err != nil {
			return err
		}
		c.apply(locs[0], ws)
		c.res.charge(int64(len(record)), false)
		return nil
	})
	if errors.Is(err, log.ErrNoSpace) {
		// The disk is full: said once already (see reserve.go); retried
		// at the next round.
		c.log.Debug("Compaction of a segment found the disk full; it will be retried", zap.Int64("segment", seg.base), zap.Error(err))
		return
	}
	if err != nil && !errors.Is(err, errStopScan) {
		c.log.Warn("Compaction of a segment failed; it will be retried", zap.Int64("segment", seg.base), zap.Error(err))
		return
	}
	if c.stopping() {
		return
	}
	c.mu.Lock()
	freed := seg.unreferenced()
	c.mu.Unlock()
	if !freed {
		// Some entry still points into it: a record that could not be
		// read back. Leave it rather than rescan it every round.
		if c.maint.uncompactable == nil {
			c.maint.uncompactable = map[int64]bool{}
		}
		c.maint.uncompactable[seg.base] = true
		c.log.Warn("Compaction left records in a segment; keeping it", zap.Int64("segment", seg.base))
		return
	}
	if err := c.eng.Sync(context.Background()); err != nil {
		c.log.Warn("Not deleting a compacted segment: fsync failed", zap.Error(err))
		return
	}
	if c.deleteSegment(seg) {
		c.set.events.report(c.set.events.compacted, 1)
		c.set.events.report(c.set.events.deleted, 1)
	}
}

// liveWrites returns the operations of the record at loc that entries
// still point to, as writes to copy forward. Tombstones no longer needed
// are dropped instead of copied.
func (c *client) liveWrites(seg *segment, loc log.Location, data []byte, ops []decodedOp, ws []write) []write {
	for _, op := range ops {
		e, ok := c.kd.keys[string(op.key)]
		if !ok || e.seg != seg.base || int64(e.off) != loc.Offset || e.tombstone() != op.del {
			continue
		}
		key := string(op.key)
		if op.del {
			if c.kd.collectTombstone(seg, key) {
				ws = append(ws, write{key: key, del: true})
			}
			continue
		}
		ws = append(ws, write{key: key, value: data[op.voff : op.voff+op.vlen]})
	}
	return ws
}
