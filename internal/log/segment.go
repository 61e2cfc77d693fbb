// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

const (
	segmentPrefix = "log-"
	segmentSuffix = ".comet"
	indexSuffix   = ".index"
	tempSuffix    = ".tmp"
)

func segmentFileName(base int64) string {
	return fmt.Sprintf("%s%016d%s", segmentPrefix, base, segmentSuffix)
}
func indexFileName(base int64) string {
	return fmt.Sprintf("%s%016d%s", segmentPrefix, base, indexSuffix)
}

// parseSegmentFileName reads the base entry number from "log-%016d.comet".
// Only the name segmentFileName writes is accepted, so that two names
// never stand for one segment.
func parseSegmentFileName(name string) (int64, bool) {
	digits, ok := strings.CutPrefix(name, segmentPrefix)
	if !ok {
		return 0, false
	}
	digits, ok = strings.CutSuffix(digits, segmentSuffix)
	if !ok || len(digits) != 16 || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false
	}
	base, err := strconv.ParseInt(digits, 10, 64)
	return base, err == nil && base >= 0
}

// parseIndexFileName reads the base entry number from "log-%016d.index".
func parseIndexFileName(name string) (int64, bool) {
	seg, ok := strings.CutSuffix(name, indexSuffix)
	if !ok {
		return 0, false
	}
	return parseSegmentFileName(seg + segmentSuffix)
}

var errSegmentGone = errors.New("segment was deleted")

// segment is one file of a shard's log: the records of entries base,
// base+1, ... A segment is active (the writer appends to it) until it is
// sealed; sealed segments never change. The published fields are atomics
// so readers need no lock: they read records in [0, size).
type segment struct {
	base    int64
	path    string
	idxPath string
	index   *sparseIndex

	size   atomic.Int64 // bytes of complete, committed records
	count  atomic.Int64 // records in [0, size)
	minTs  atomic.Int64
	maxTs  atomic.Int64
	sealed atomic.Bool
	// written is when the newest record was written, on the client's
	// monotonic clock: what retention measures ages from.
	written atomic.Int64
	// backwards is set when a record is stamped earlier than one before
	// it (the wall clock went back): SeekToTime then scans the segment
	// instead of trusting the index's times.
	backwards atomic.Bool

	// Read handle, opened on first use and kept in the client's file
	// cache after the last reader releases it; closed on eviction, or as
	// soon as the segment is deleted and unread, so its space is freed.
	files   *fileCache
	lastUse atomic.Uint64 // files' clock at the last release
	fmu     sync.Mutex
	f       *os.File
	refs    int
	gone    bool
	damaged map[int64]bool // offsets of damage already reported
}

func newSegment(dir string, base int64, index *sparseIndex, files *fileCache) *segment {
	s := &segment{
		files:   files,
		base:    base,
		path:    filepath.Join(dir, segmentFileName(base)),
		idxPath: filepath.Join(dir, indexFileName(base)),
		index:   index,
	}
	return s
}

// end is the entry number after the segment's last record.
func (s *segment) end() int64 { return s.base + s.count.Load() }

// summary is the segment's state as an index file records it.
func (s *segment) summary() segmentSummary {
	return segmentSummary{size: s.size.Load(), count: s.count.Load(), minTs: s.minTs.Load(), maxTs: s.maxTs.Load()}
}

// noteTimestamp widens the segment's time bounds. Only the writer (or the
// single scan at open) calls it.
func (s *segment) noteTimestamp(ts int64) {
	if s.count.Load() == 0 || ts < s.minTs.Load() {
		s.minTs.Store(ts)
	}
	if ts > s.maxTs.Load() {
		s.maxTs.Store(ts)
	}
}

// acquire returns a read handle; release it when done.
func (s *segment) acquire() (*os.File, error) {
	s.fmu.Lock()
	if s.gone {
		s.fmu.Unlock()
		return nil, errSegmentGone
	}
	var victim *segment
	if s.f == nil {
		f, err := os.Open(s.path)
		if err != nil {
			s.fmu.Unlock()
			if errors.Is(err, os.ErrNotExist) {
				return nil, errSegmentGone
			}
			return nil, err
		}
		s.f = f
		victim = s.files.opened(s)
	}
	s.refs++
	f := s.f
	s.fmu.Unlock()
	if victim != nil {
		victim.closeIfIdle()
	}
	return f, nil
}

// release gives a handle back. The descriptor stays open in the client's
// file cache, unless the segment was deleted.
func (s *segment) release() {
	s.lastUse.Store(s.files.tick())
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.refs--
	if s.refs == 0 && s.gone {
		s.closeLocked()
	}
}

// closeIfIdle closes the descriptor if nobody holds it (cache eviction,
// Client.Close).
func (s *segment) closeIfIdle() {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.refs == 0 {
		s.closeLocked()
	}
}

func (s *segment) closeLocked() {
	if s.f != nil {
		_ = s.f.Close() // read-only descriptor: nothing to lose
		s.f = nil
		s.files.closed(s)
	}
}

// isGone reports whether the segment was deleted.
func (s *segment) isGone() bool {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.gone
}

// markGone stops new readers; current ones keep their descriptor until
// they release it. An idle descriptor is closed at once.
func (s *segment) markGone() {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.gone = true
	if s.refs == 0 {
		s.closeLocked()
	}
}

// noteDamage records that damage at offset pos was reported, and says
// whether this is the first time, so each damaged place is logged and
// counted once however often it is read.
func (s *segment) noteDamage(pos int64) bool {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.damaged == nil {
		s.damaged = map[int64]bool{}
	}
	if s.damaged[pos] {
		return false
	}
	s.damaged[pos] = true
	return true
}
