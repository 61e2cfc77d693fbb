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
	// readOnly: another process writes the shard (a ReadOnly client, or a
	// shard of another writer slot); this one only reads and refreshes it.
	readOnly bool

	// mu serialises appends: entry-number assignment, the write, rotation
	// and repair. Nothing else is done under it.
	mu     sync.Mutex
	w      *os.File     // writer handle on the active segment; swapped under syncMu too
	next   atomic.Int64 // next entry number: Len of the stream
	broken error        // set when a failed write could not be undone

	segMu sync.RWMutex
	segs  []*segment // ascending base; the last one is active

	bytes atomic.Int64 // bytes in this shard's segment files
	// admitting is the bytes of appends admitted and not yet written.
	admitting atomic.Int64

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
	s := &shard{c: c, key: key, name: key.name(), dir: filepath.Join(c.dir, key.dir()), readOnly: !c.ownsShard(key.shard)}
	s.dur.init()
	s.wake = c.notifierFor(namespaceKey{ns: key.ns, ver: key.ver})
	s.groups.init(s)
	if create {
		if err := os.MkdirAll(s.dir, c.cfg.Storage.DirMode); err != nil {
			return nil, fmt.Errorf("create shard directory: %w", err)
		}
	}
	bases, odd, err := s.listSegmentFiles()
	if err != nil {
		return nil, err
	}
	for _, path := range odd {
		c.stats.errors.Add(1)
		c.log.Warn("Ignoring an entry with a segment's name that is not a regular file", zap.String("file", path))
	}
	if err := checkOffsetFormats(s.groups.dir()); err != nil {
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
	if s.readOnly {
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
	if resyncedAt >= 0 && !s.readOnly {
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
// An entry with a segment's name that is not a regular file (a directory,
// a FIFO, a dangling symbolic link) is no segment: it is skipped and
// named in odd. A symbolic link to a regular file is followed.
func (s *shard) listSegmentFiles() (bases []int64, odd []string, err error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("list shard directory: %w", err)
	}
	segs := map[string]bool{}
	for _, e := range entries {
		base, ok := parseSegmentFileName(e.Name())
		if !ok {
			continue
		}
		if !isRegularFile(s.dir, e) {
			odd = append(odd, filepath.Join(s.dir, e.Name()))
			continue
		}
		bases = append(bases, base)
		segs[indexFileName(base)] = true
	}
	if !s.readOnly {
		for _, e := range entries {
			name := e.Name()
			if isLeftover(name, segs) {
				if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
					s.c.log.Warn("Could not remove a leftover file", zap.String("file", filepath.Join(s.dir, name)), zap.Error(err))
				}
			}
		}
	}
	slices.Sort(bases)
	return bases, odd, nil
}

// isLeftover reports whether a shard directory entry is a file the engine
// left behind: an index of a segment that is gone (segs holds the index
// names of the segments present), or the temporary file of an index
// being written. Files of other names are not the engine's to remove.
func isLeftover(name string, segs map[string]bool) bool {
	idx, tmp := strings.CutSuffix(name, tempSuffix)
	base, ok := parseIndexFileName(idx)
	return ok && (tmp || !segs[indexFileName(base)])
}

// isRegularFile reports whether the entry e of dir is a regular file, or
// a symbolic link to one.
func isRegularFile(dir string, e os.DirEntry) bool {
	if e.Type()&os.ModeSymlink == 0 {
		return e.Type().IsRegular()
	}
	info, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && info.Mode().IsRegular()
}

// loadSegment opens one segment. A segment is described by its index
// file when that file is intact and agrees with the segment, which costs
// one small read: a sealed segment is then not scanned at all, and the
// active segment only from the end of the records its checkpoint (an
// index written at Close) describes. Otherwise the segment is scanned,
// and a writer truncates a torn tail. resynced is the first entry number
// whose successors the scan may have renumbered (see scanResult), or -1.
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
	sum, x, err := loadIndex(seg.idxPath, f, info.Size(), cfg.Indexing.MaxIndexEntries, active)
	switch {
	case errors.Is(err, ErrNewerFormat):
		return nil, -1, withPath(err, seg.path)
	case err == nil && !active:
		seg.index = x
		seg.publish(sum, s.c.clock)
		seg.sealed.Store(true)
		return seg, -1, nil
	case err == nil:
		seg.index = x // a checkpoint: scan only what follows it
	default:
		if active {
			s.dropStaleCheckpoint(seg, err)
		} else if !errors.Is(err, os.ErrNotExist) {
			s.c.log.Warn("Rebuilding segment index", zap.String("file", seg.idxPath), zap.Error(err))
		}
		sum = segmentSummary{}
		seg.index = newSparseIndex(cfg.Indexing.BoundaryInterval, cfg.Indexing.MaxIndexEntries)
	}
	// A reader does not look past damage at the end of the active
	// segment: the writer may be writing there.
	resync := !(s.readOnly && active)
	res, err := scanSegment(f, sum.size, sum.count, info.Size(), seg.index, resync)
	if errors.Is(err, ErrNewerFormat) {
		return nil, -1, withPath(err, seg.path)
	}
	if err != nil {
		return nil, -1, fmt.Errorf("scan segment %s: %w", seg.path, err)
	}
	s.reportScan(seg, res, info.Size())
	if res.validEnd < info.Size() && !s.readOnly {
		if err := s.truncateTail(seg, res, info.Size()); err != nil {
			return nil, -1, err
		}
	}
	seg.publish(sum.extendedBy(res), s.c.clock)
	seg.backwards.Store(res.backwards)
	if !active {
		seg.sealed.Store(true)
		if !s.readOnly {
			s.writeIndex(seg, true)
		}
	}
	resynced = -1
	if len(res.resynced) > 0 {
		resynced = base + res.resynced[0]
	}
	return seg, resynced, nil
}

// extendedBy is the summary of a segment whose first records sum
// describes and whose following ones a scan found.
func (sum segmentSummary) extendedBy(res scanResult) segmentSummary {
	out := segmentSummary{size: res.validEnd, count: sum.count + res.count, minTs: sum.minTs, maxTs: sum.maxTs}
	switch {
	case res.count == 0:
	case sum.count == 0:
		out.minTs, out.maxTs = res.minTs, res.maxTs
	default:
		out.minTs, out.maxTs = min(sum.minTs, res.minTs), max(sum.maxTs, res.maxTs)
	}
	return out
}

// publish sets a loaded segment's state, and when it was last written
// (see writtenAt).
func (seg *segment) publish(sum segmentSummary, clk clock) {
	seg.minTs.Store(sum.minTs)
	seg.maxTs.Store(sum.maxTs)
	seg.count.Store(sum.count)
	seg.size.Store(sum.size)
	ts := sum.maxTs
	if sum.count == 0 {
		ts = clk.now().UnixNano()
	}
	seg.written.Store(writtenAt(clk, ts))
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
	if res.validEnd < fileSize && s.readOnly {
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

// loadIndex reads a segment's index file and checks it against the
// segment with one small read: the checksum holds, it describes exactly
// segSize bytes (for the checkpoint of an active segment, at most
// segSize: records appended since follow it), and the record at its last
// point starts with an intact header that carries the point's timestamp
// and ends within the described bytes. That rules out an index cut off
// its segment by a power loss, or belonging to another file; damage
// elsewhere in the segment is found by readers, which step over it as
// over any damaged record. An index or a record of a newer format is a
// *FormatError (with the index's path, or the record's offset for the
// caller to name the segment).
func loadIndex(path string, seg *os.File, segSize int64, maxPoints int, checkpoint bool) (segmentSummary, *sparseIndex, error) {
	b, err := readSmallFile(path, maxIndexFileSize(segSize))
	if err != nil {
		return segmentSummary{}, nil, err
	}
	if v, newer := newerIndexFormat(b); newer {
		return segmentSummary{}, nil, &FormatError{Path: path, Offset: -1, What: "index file", Found: v, Supported: indexVersion}
	}
	sum, x, err := decodeIndex(b, maxPoints)
	if err != nil {
		return segmentSummary{}, nil, err
	}
	if sum.size > segSize || !checkpoint && sum.size != segSize {
		return segmentSummary{}, nil, fmt.Errorf("%w: it describes %d bytes, the segment has %d", errBadIndex, sum.size, segSize)
	}
	if err := checkLastPoint(seg, sum, x); err != nil {
		return segmentSummary{}, nil, err
	}
	return sum, x, nil
}

// checkLastPoint reads the header of the record at the index's last point
// and checks that it is the record the point describes.
func checkLastPoint(f *os.File, sum segmentSummary, x *sparseIndex) error {
	if len(x.points) == 0 {
		if sum.count != 0 || sum.size != 0 {
			return fmt.Errorf("%w: no point for %d entries", errBadIndex, sum.count)
		}
		return nil
	}
	last := x.points[len(x.points)-1]
	var hdr [headerSize]byte
	if _, err := f.ReadAt(hdr[:], last.pos); err != nil {
		return fmt.Errorf("%w: its last point (offset %d) cannot be read: %v", errBadIndex, last.pos, err)
	}
	h, ok := parseHeader(hdr[:])
	if !ok && recordFormatOf(hdr[:]) > FormatVersion {
		sc := newScanner(f, sum.size)
		if _, rec, st, err := sc.at(last.pos); err == nil && st == recNewerFormat {
			return &FormatError{Offset: last.pos, What: "record", Found: recordFormatOf(rec), Supported: FormatVersion}
		}
	}
	if !ok || h.ts != last.ts || last.pos+h.recordSize() > sum.size {
		return fmt.Errorf("%w: the record at its last point (offset %d) is not the one it describes", errBadIndex, last.pos)
	}
	return nil
}

// checkContinuity reports gaps between segments (entries lost with a
// damaged or deleted file) and sets aside segments that claim entry
// numbers another one holds, which no writer produces (see
// setAsideOverlaps).
func (s *shard) checkContinuity() {
	s.setAsideOverlaps()
	for i := 0; i+1 < len(s.segs); i++ {
		cur, next := s.segs[i], s.segs[i+1]
		if end := cur.end(); end < next.base && cur.sealed.Load() {
			s.c.log.Warn("Entries missing between segments",
				zap.String("file", cur.path), zap.Int64("from_entry", end), zap.Int64("to_entry", next.base-1))
		}
	}
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
	seg.written.Store(int64(s.c.clock.since()))
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
