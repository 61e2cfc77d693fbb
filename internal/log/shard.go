// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
)

// shard is one stream: a directory of segments holding consecutive entry
// numbers, written by one Client and read by any number of consumers.
type shard struct {
	c    *Client
	key  streamKey
	name string // canonical stream name
	dir  string

	// mu serialises appends: entry-number assignment, the write, rotation
	// and repair. Nothing else is done under it.
	mu     sync.Mutex
	w      *os.File     // writer handle on the active segment; swapped under syncMu too
	next   atomic.Int64 // next entry number: Len of the stream
	broken error        // set when a failed write could not be undone

	segMu sync.RWMutex
	segs  []*segment // ascending base; the last one is active

	bytes atomic.Int64 // bytes in this shard's segment files

	dur  durability
	wake *notifier // consumers of this namespace in this process

	groups groupTable // consumer-group offsets of this shard
}

// segments returns a snapshot of the segment list.
func (s *shard) segments() []*segment {
	s.segMu.RLock()
	defer s.segMu.RUnlock()
	return slices.Clone(s.segs)
}

// active returns the segment appends go to.
func (s *shard) active() *segment {
	s.segMu.RLock()
	defer s.segMu.RUnlock()
	return s.segs[len(s.segs)-1]
}

// firstEntry is the oldest entry number still on disk.
func (s *shard) firstEntry() int64 {
	s.segMu.RLock()
	defer s.segMu.RUnlock()
	return s.segs[0].base
}

// segmentFor returns the segment holding entry, or the first segment after
// it when entry falls in a gap (deleted or lost), or nil past the end.
func (s *shard) segmentFor(entry int64) *segment {
	s.segMu.RLock()
	defer s.segMu.RUnlock()
	i, found := slices.BinarySearchFunc(s.segs, entry, func(seg *segment, e int64) int {
		switch {
		case e < seg.base:
			return 1
		case e >= seg.end() && seg != s.segs[len(s.segs)-1]:
			return -1
		}
		return 0
	})
	if found {
		return s.segs[i]
	}
	if i < len(s.segs) {
		return s.segs[i]
	}
	return nil
}

// openShard opens (and, for a writer, repairs) the shard in dir, creating
// it when create is set.
func (c *Client) openShard(key streamKey, create bool) (*shard, error) {
	s := &shard{c: c, key: key, name: key.name(), dir: filepath.Join(c.dir, key.dir())}
	s.dur.init()
	s.wake = c.notifierFor(namespaceKey{ns: key.ns, ver: key.ver})
	s.groups.init(s)
	if create {
		if err := os.MkdirAll(s.dir, c.cfg.Storage.DirMode); err != nil {
			return nil, fmt.Errorf("create shard directory: %w", err)
		}
	}
	bases, err := s.listSegmentFiles()
	if err != nil {
		return nil, err
	}
	resyncedAt := int64(-1) // first entry whose successors may have been renumbered
	for i, base := range bases {
		seg, resynced, err := s.loadSegment(base, i == len(bases)-1)
		if err != nil {
			return nil, err
		}
		if resynced >= 0 && resyncedAt < 0 {
			resyncedAt = resynced
		}
		s.segs = append(s.segs, seg)
	}
	s.checkContinuity()
	if c.readOnly {
		if len(s.segs) == 0 {
			return nil, os.ErrNotExist
		}
	} else if err := s.openWriter(); err != nil {
		return nil, err
	}
	last := s.segs[len(s.segs)-1]
	s.next.Store(last.end())
	for _, seg := range s.segs {
		s.bytes.Add(seg.size.Load())
	}
	s.dur.markSynced(0, s.next.Load())
	if resyncedAt >= 0 && !c.readOnly {
		if err := s.pinRenumbering(resyncedAt); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// pinRenumbering follows a recovery that stepped over damage of unknown
// length at entry first: the entries after it may now carry lower numbers
// than when they were written. Groups past first are rewound to it, so
// they read those entries again (duplicates, never a skip), and the
// active segment is sealed if the damage is in it, so its index file fixes
// the new numbering for every later open.
func (s *shard) pinRenumbering(first int64) error {
	if err := s.groups.rewindAll(first); err != nil {
		return err
	}
	if active := s.segs[len(s.segs)-1]; first >= active.base {
		return s.rotate()
	}
	return nil
}

// listSegmentFiles returns the segment bases in dir, ascending, and (for a
// writer) removes leftovers: temporary files and indexes without segment.
func (s *shard) listSegmentFiles() ([]int64, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list shard directory: %w", err)
	}
	var bases []int64
	segs := map[string]bool{}
	for _, e := range entries {
		if base, ok := parseSegmentFileName(e.Name()); ok && e.Type().IsRegular() {
			bases = append(bases, base)
			segs[indexFileName(base)] = true
		}
	}
	if !s.c.readOnly {
		for _, e := range entries {
			name := e.Name()
			orphanIndex := strings.HasSuffix(name, indexSuffix) && !segs[name]
			if strings.HasSuffix(name, tempSuffix) || orphanIndex {
				if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return nil, fmt.Errorf("remove leftover %s: %w", filepath.Join(s.dir, name), err)
				}
			}
		}
	}
	slices.Sort(bases)
	return bases, nil
}

// loadSegment opens one segment. A sealed segment is described by its
// index file when that file is intact and agrees with the segment;
// otherwise (and for the active segment) the segment is scanned, and a
// writer truncates a torn tail. resynced is the first entry number whose
// successors the scan may have renumbered (see scanResult), or -1.
func (s *shard) loadSegment(base int64, active bool) (seg *segment, resynced int64, err error) {
	cfg := &s.c.cfg
	seg = newSegment(s.dir, base, nil, s.c.files)
	f, err := os.Open(seg.path)
	if err != nil {
		return nil, -1, fmt.Errorf("open segment: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, -1, fmt.Errorf("stat segment %s: %w", seg.path, err)
	}
	if !active {
		if sum, x, err := loadIndex(seg.idxPath, f, info.Size(), cfg.Indexing.MaxIndexEntries); err == nil {
			seg.index = x
			seg.publish(sum)
			seg.sealed.Store(true)
			return seg, -1, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			s.c.log.Warn("Rebuilding segment index", zap.String("file", seg.idxPath), zap.Error(err))
		}
	}
	seg.index = newSparseIndex(cfg.Indexing.BoundaryInterval, cfg.Indexing.MaxIndexEntries)
	// A reader does not look past damage at the end of the active
	// segment: the writer may be writing there.
	resync := !(s.c.readOnly && active)
	res, err := scanSegment(f, 0, 0, info.Size(), seg.index, resync)
	if err != nil {
		return nil, -1, fmt.Errorf("scan segment %s: %w", seg.path, err)
	}
	s.reportScan(seg, res, info.Size())
	if res.validEnd < info.Size() && !s.c.readOnly {
		if err := s.truncateTail(seg, res, info.Size()); err != nil {
			return nil, -1, err
		}
	}
	seg.publish(segmentSummary{size: res.validEnd, count: res.count, minTs: res.minTs, maxTs: res.maxTs})
	if !active {
		seg.sealed.Store(true)
		if !s.c.readOnly {
			s.writeIndex(seg, true)
		}
	}
	resynced = -1
	if len(res.resynced) > 0 {
		resynced = base + res.resynced[0]
	}
	return seg, resynced, nil
}

// publish sets a loaded segment's state.
func (seg *segment) publish(sum segmentSummary) {
	seg.minTs.Store(sum.minTs)
	seg.maxTs.Store(sum.maxTs)
	seg.count.Store(sum.count)
	seg.size.Store(sum.size)
}

// reportScan logs and counts damaged records a scan stepped over and the
// torn tail it stopped at.
func (s *shard) reportScan(seg *segment, res scanResult, fileSize int64) {
	for _, off := range res.skipped {
		seg.noteDamage(off)
		s.c.stats.corruptEntries.Add(1)
		s.c.log.Warn("Skipping damaged record: its entry will not be delivered",
			zap.String("file", seg.path), zap.Int64("offset", off))
	}
	for _, rel := range res.resynced {
		s.c.log.Warn("Damaged record of unknown length: the bytes up to the next intact record count as one entry, and consumer groups past it read on from it again",
			zap.String("file", seg.path), zap.Int64("entry", seg.base+rel))
	}
	if res.validEnd < fileSize && s.c.readOnly {
		return // the writer may still be writing it
	}
	if res.validEnd < fileSize {
		s.c.stats.truncations.Add(1)
		s.c.stats.truncatedBytes.Add(fileSize - res.validEnd)
		s.c.log.Warn("Truncating torn tail of segment",
			zap.String("file", seg.path), zap.Int64("offset", res.validEnd),
			zap.Int64("bytes", fileSize-res.validEnd), zap.String("reason", res.stopStatus.reason()))
	}
}

func (s *shard) truncateTail(seg *segment, res scanResult, fileSize int64) error {
	if err := os.Truncate(seg.path, res.validEnd); err != nil {
		return fmt.Errorf("truncate torn tail of %s at offset %d: %w", seg.path, res.validEnd, err)
	}
	f, err := os.OpenFile(seg.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", seg.path, err)
	}
	defer f.Close()
	if err := datasync(f); err != nil {
		return fmt.Errorf("sync truncated %s: %w", seg.path, err)
	}
	return nil
}

// loadIndex reads a sealed segment's index file and checks it against the
// segment: same size, and the records from the last index point to the
// end are intact and as many as the index says.
func loadIndex(path string, seg *os.File, segSize int64, maxPoints int) (segmentSummary, *sparseIndex, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return segmentSummary{}, nil, err
	}
	sum, x, err := decodeIndex(b, maxPoints)
	if err != nil {
		return segmentSummary{}, nil, err
	}
	if sum.size != segSize {
		return segmentSummary{}, nil, fmt.Errorf("%w: it describes %d bytes, the segment has %d", errBadIndex, sum.size, segSize)
	}
	last := x.floor(sum.count)
	sc := newScanner(seg, segSize)
	pos, rel := last.pos, last.rel
	for pos < segSize {
		h, _, st, err := sc.at(pos)
		if err != nil {
			return segmentSummary{}, nil, err
		}
		var ok bool
		if pos, ok = sc.stepPast(pos, h, st); !ok {
			return segmentSummary{}, nil, fmt.Errorf("%w: the segment is damaged to its end after the last index point", errBadIndex)
		}
		rel++
	}
	if rel != sum.count {
		return segmentSummary{}, nil, fmt.Errorf("%w: it counts %d entries, the segment has %d", errBadIndex, sum.count, rel)
	}
	return sum, x, nil
}

// checkContinuity reports gaps between segments (entries lost with a
// damaged or deleted file) and caps a segment that claims entry numbers
// its successor also claims, which no writer produces.
func (s *shard) checkContinuity() {
	for i := 0; i+1 < len(s.segs); i++ {
		cur, next := s.segs[i], s.segs[i+1]
		switch end := cur.end(); {
		case end < next.base && cur.sealed.Load():
			s.c.log.Warn("Entries missing between segments",
				zap.String("file", cur.path), zap.Int64("from_entry", end), zap.Int64("to_entry", next.base-1))
		case end > next.base:
			s.c.stats.errors.Add(1)
			s.c.log.Error("Segment overlaps its successor; ignoring its entries from the successor's base",
				zap.String("file", cur.path), zap.Int64("entry", next.base), zap.Int64("dropped_entries", end-next.base))
			cur.capAt(next.base - cur.base)
		}
	}
}

// capAt hides the records of a loaded segment from relative entry rel on.
func (seg *segment) capAt(rel int64) {
	pos, ok := seg.positionOf(rel)
	if !ok {
		return
	}
	seg.count.Store(rel)
	seg.size.Store(pos)
}

// positionOf finds the byte offset of relative entry rel by scanning from
// the nearest index point. ok is false if the records on the way are
// damaged beyond stepping over.
func (seg *segment) positionOf(rel int64) (pos int64, ok bool) {
	f, err := seg.acquire()
	if err != nil {
		return 0, false
	}
	defer seg.release()
	p := seg.index.floor(rel)
	sc := newScanner(f, seg.size.Load())
	pos = p.pos
	for r := p.rel; r < rel; r++ {
		h, _, st, err := sc.at(pos)
		if err != nil {
			return 0, false
		}
		if pos, ok = sc.stepPast(pos, h, st); !ok {
			return 0, false
		}
	}
	return pos, true
}

// openWriter opens the active segment for appending, creating the first
// segment of a new shard.
func (s *shard) openWriter() error {
	if len(s.segs) == 0 {
		seg, w, err := s.createSegment(0)
		if err != nil {
			return err
		}
		s.segs = append(s.segs, seg)
		s.w = w
		return nil
	}
	seg := s.segs[len(s.segs)-1]
	w, err := os.OpenFile(seg.path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("open active segment: %w", err)
	}
	s.w = w
	return nil
}

// createSegment creates the file of a new active segment.
func (s *shard) createSegment(base int64) (*segment, *os.File, error) {
	cfg := &s.c.cfg
	seg := newSegment(s.dir, base, newSparseIndex(cfg.Indexing.BoundaryInterval, cfg.Indexing.MaxIndexEntries), s.c.files)
	w, err := os.OpenFile(seg.path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, cfg.Storage.FileMode)
	if err != nil {
		return nil, nil, fmt.Errorf("create segment: %w", err)
	}
	s.dur.dirDirty.Store(true)
	return seg, w, nil
}

// writeIndex stores a sealed segment's index beside it, fsynced when
// durable. A failure only costs a rescan at the next open, so it is
// logged, not returned.
func (s *shard) writeIndex(seg *segment, durable bool) {
	if seg.isGone() {
		return // deleted (drop_oldest) before its index was written
	}
	defer func() {
		if seg.isGone() { // deleted while its index was being written
			_ = os.Remove(seg.idxPath)
		}
	}()
	if err := writeFileAtomic(seg.idxPath, encodeIndex(seg.summary(), seg.index), s.c.cfg.Storage.FileMode, durable); err != nil {
		s.c.stats.errors.Add(1)
		level := zap.WarnLevel
		if IsNoSpace(err) {
			level = zap.DebugLevel // a full disk is reported by the writer, once
		}
		s.c.log.Log(level, "Could not write segment index; it will be rebuilt at the next open",
			zap.String("file", seg.idxPath), zap.Error(err))
	}
}
