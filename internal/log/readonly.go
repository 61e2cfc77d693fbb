// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"
	"os"
	"slices"

	"go.uber.org/zap"
)

// refresh brings a read-only shard up to date with the writer process:
// complete records appended to the active segment, segments created by
// rotation, and segments deleted by retention. It reports whether anything
// new became readable. Incomplete records at the end are left for later:
// the writer may be writing them.
func (s *shard) refresh() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scanActiveTail() {
		return true
	}
	bases, _, err := s.listSegmentFiles()
	if err != nil {
		return false
	}
	s.forgetDeleted(bases)
	return s.adoptNewSegments(bases)
}

// catchUp refreshes until the shard has nothing new: a refresh that found
// records at the end of the active segment stops there, before the
// segments the writer went on to. Bounded, in case the writer outruns it.
func (s *shard) catchUp() {
	for range 1000 {
		if !s.refresh() {
			return
		}
	}
}

// scanActiveTail indexes records the writer appended to the active segment.
func (s *shard) scanActiveTail() bool {
	seg := s.active()
	info, err := os.Stat(seg.path)
	if err != nil {
		return false
	}
	size := seg.size.Load()
	if info.Size() < size {
		s.c.log.Warn("Segment shrank under a reader (the writer undid a failed write); rescanning",
			zap.String("file", seg.path), zap.Int64("was", size), zap.Int64("now", info.Size()))
		s.reloadActive(seg)
		return true
	}
	if info.Size() == size {
		return false
	}
	f, err := os.Open(seg.path)
	if err != nil {
		return false
	}
	defer f.Close()
	res, err := scanSegment(f, size, seg.count.Load(), info.Size(), seg.index, false)
	if err != nil || res.count == 0 {
		return false
	}
	s.publishTail(seg, res)
	return true
}

// publishTail makes records found by a tail scan readable.
func (s *shard) publishTail(seg *segment, res scanResult) {
	for _, off := range res.skipped {
		seg.noteDamage(off)
	}
	if res.backwards || res.count > 0 && res.minTs < seg.maxTs.Load() {
		seg.backwards.Store(true)
	}
	seg.noteTimestamp(res.minTs)
	seg.noteTimestamp(res.maxTs)
	grown := res.validEnd - seg.size.Load()
	s.next.Store(seg.end() + res.count) // before count: see shard.write
	seg.count.Add(res.count)
	seg.size.Store(res.validEnd)
	s.bytes.Add(grown)
	s.c.diskBytes.Add(grown)
	s.wake.notify()
}

// reloadActive rebuilds the view of an active segment from scratch.
func (s *shard) reloadActive(seg *segment) {
	fresh, _, err := s.loadSegment(seg.base, true)
	if err != nil {
		return
	}
	s.segMu.Lock()
	s.segs[len(s.segs)-1] = fresh
	s.segMu.Unlock()
	s.bytes.Add(fresh.size.Load() - seg.size.Load())
	s.c.diskBytes.Add(fresh.size.Load() - seg.size.Load())
	s.next.Store(fresh.end())
}

// forgetDeleted drops segments whose files the writer deleted.
func (s *shard) forgetDeleted(onDisk []int64) {
	s.segMu.Lock()
	defer s.segMu.Unlock()
	kept := s.segs[:0]
	for i, seg := range s.segs {
		if i == len(s.segs)-1 || slices.Contains(onDisk, seg.base) {
			kept = append(kept, seg)
			continue
		}
		seg.markGone()
		s.bytes.Add(-seg.size.Load())
		s.c.diskBytes.Add(-seg.size.Load())
	}
	clear(s.segs[len(kept):])
	s.segs = kept
}

// adoptNewSegments seals the active segment when the writer rotated and
// loads the segments it created.
func (s *shard) adoptNewSegments(onDisk []int64) bool {
	last := s.active()
	var added bool
	for _, base := range onDisk {
		if base <= last.base {
			continue
		}
		// The writer moved on: the previous segment is complete. Read
		// what it holds to the end before sealing it in our view.
		s.scanActiveTail()
		seg, _, err := s.loadSegment(base, base == onDisk[len(onDisk)-1])
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				s.c.log.Warn("Could not open new segment", zap.String("file", segmentFileName(base)), zap.Error(err))
			}
			break
		}
		s.segMu.Lock()
		s.segs = append(s.segs, seg)
		s.segMu.Unlock()
		last.sealed.Store(true)
		s.bytes.Add(seg.size.Load())
		s.c.diskBytes.Add(seg.size.Load())
		s.next.Store(seg.end())
		last, added = seg, true
	}
	if added {
		s.wake.notify()
	}
	return added
}

// discover opens shards of the namespace that another process created
// since this client last looked: for a ReadOnly client, or a writer in
// multi-process mode (the other slots' writers create shards). A single
// writer creates its shards itself, so for it this does nothing.
func (c *Client) discover(nk namespaceKey) error {
	if !c.readOnly && c.slot == nil {
		return nil
	}
	return c.openShardsOf(nk)
}
