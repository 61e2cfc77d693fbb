// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
	"sync"
)

// indexPoint locates one record of a segment.
type indexPoint struct {
	rel int64 // entry number relative to the segment's base
	pos int64 // byte offset of the record in the segment
	ts  int64 // the record's timestamp
}

// sparseIndex holds a point every step entries of one segment. The writer
// adds points while readers search, hence the lock.
type sparseIndex struct {
	mu     sync.RWMutex
	points []indexPoint
	step   int64
	max    int
}

func newSparseIndex(step, max int) *sparseIndex {
	return &sparseIndex{step: int64(step), max: max}
}

// wants reports whether the record with relative entry number rel gets a point.
func (x *sparseIndex) wants(rel int64) bool {
	return rel%x.step == 0
}

// add records a point; callers add points in increasing order. When the
// index is full, every other point is dropped and the step doubles.
func (x *sparseIndex) add(p indexPoint) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if p.rel%x.step != 0 {
		return // the step doubled since the caller asked
	}
	if len(x.points) >= x.max {
		x.thin()
		if p.rel%x.step != 0 {
			return
		}
	}
	x.points = append(x.points, p)
}

// thin keeps the points that fall on a doubled step.
func (x *sparseIndex) thin() {
	x.step *= 2
	kept := x.points[:0]
	for _, p := range x.points {
		if p.rel%x.step == 0 {
			kept = append(kept, p)
		}
	}
	clear(x.points[len(kept):])
	x.points = kept
}

// floor returns the last point at or before relative entry rel, or the
// start of the segment.
func (x *sparseIndex) floor(rel int64) indexPoint {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i := sort.Search(len(x.points), func(i int) bool { return x.points[i].rel > rel })
	if i == 0 {
		return indexPoint{}
	}
	return x.points[i-1]
}

// after returns the first point strictly after relative entry rel.
func (x *sparseIndex) after(rel int64) (indexPoint, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i := sort.Search(len(x.points), func(i int) bool { return x.points[i].rel > rel })
	if i == len(x.points) {
		return indexPoint{}, false
	}
	return x.points[i], true
}

// floorTime returns the last point whose timestamp is before ts: the scan
// for the first entry at or after ts starts there.
func (x *sparseIndex) floorTime(ts int64) indexPoint {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i := sort.Search(len(x.points), func(i int) bool { return x.points[i].ts >= ts })
	if i == 0 {
		return indexPoint{}
	}
	return x.points[i-1]
}

// timesOrdered reports whether the points' timestamps never decrease.
func (x *sparseIndex) timesOrdered() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for i := 1; i < len(x.points); i++ {
		if x.points[i].ts < x.points[i-1].ts {
			return false
		}
	}
	return true
}

// Index file layout (little-endian), see doc.go:
//
//	[0:4]   magic "CMIX"
//	[4]     version (1)
//	[5:8]   reserved, zero
//	[8:16]  size of the segment the index describes, in bytes
//	[16:24] number of entries in the segment
//	[24:32] smallest record timestamp
//	[32:40] largest record timestamp
//	[40:48] step (entries between points)
//	[48:52] number of points P
//	[52:52+24P] points: relative entry, byte offset, timestamp (int64 each)
//	last 4  CRC-32C of everything before
const (
	indexMagic      = "CMIX"
	indexVersion    = 1
	indexHeaderSize = 52
	indexPointSize  = 24
)

// segmentSummary is what a sealed segment's index file states about it.
type segmentSummary struct {
	size, count  int64
	minTs, maxTs int64
}

// encodeIndex serialises a sealed segment's summary and index points.
func encodeIndex(sum segmentSummary, x *sparseIndex) []byte {
	x.mu.RLock()
	defer x.mu.RUnlock()
	b := make([]byte, indexHeaderSize, indexHeaderSize+len(x.points)*indexPointSize+4)
	copy(b[0:4], indexMagic)
	b[4] = indexVersion
	binary.LittleEndian.PutUint64(b[8:], uint64(sum.size))
	binary.LittleEndian.PutUint64(b[16:], uint64(sum.count))
	binary.LittleEndian.PutUint64(b[24:], uint64(sum.minTs))
	binary.LittleEndian.PutUint64(b[32:], uint64(sum.maxTs))
	binary.LittleEndian.PutUint64(b[40:], uint64(x.step))
	binary.LittleEndian.PutUint32(b[48:], uint32(len(x.points)))
	for _, p := range x.points {
		b = binary.LittleEndian.AppendUint64(b, uint64(p.rel))
		b = binary.LittleEndian.AppendUint64(b, uint64(p.pos))
		b = binary.LittleEndian.AppendUint64(b, uint64(p.ts))
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

var errBadIndex = errors.New("index file is damaged")

// maxIndexFileSize is the largest index a segment of segSize bytes can
// have: a point per record at most, and a record is at least a header.
func maxIndexFileSize(segSize int64) int64 {
	return indexHeaderSize + 4 + indexPointSize*(segSize/headerSize+1)
}

// indexHeader reads the fields of an index file's header (b holds at
// least indexHeaderSize bytes): the segment's summary, the step between
// points and the number of points it claims.
func indexHeader(b []byte) (sum segmentSummary, step, points int64) {
	sum = segmentSummary{
		size:  int64(binary.LittleEndian.Uint64(b[8:])),
		count: int64(binary.LittleEndian.Uint64(b[16:])),
		minTs: int64(binary.LittleEndian.Uint64(b[24:])),
		maxTs: int64(binary.LittleEndian.Uint64(b[32:])),
	}
	return sum, int64(binary.LittleEndian.Uint64(b[40:])), int64(binary.LittleEndian.Uint32(b[48:]))
}

// decodeIndex parses an index file and checks its internal consistency.
// Whether it matches the segment on disk is checked by the caller.
func decodeIndex(b []byte, maxPoints int) (segmentSummary, *sparseIndex, error) {
	if len(b) < indexHeaderSize+4 || string(b[0:4]) != indexMagic || b[4] != indexVersion {
		return segmentSummary{}, nil, fmt.Errorf("%w: bad magic, version or length", errBadIndex)
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return segmentSummary{}, nil, fmt.Errorf("%w: checksum mismatch", errBadIndex)
	}
	sum, step, n64 := indexHeader(b)
	n := int(n64)
	if step < 1 || len(body) != indexHeaderSize+n*indexPointSize || sum.size < 0 || sum.count < 0 {
		return segmentSummary{}, nil, fmt.Errorf("%w: inconsistent header", errBadIndex)
	}
	x := &sparseIndex{step: step, max: max(maxPoints, n), points: make([]indexPoint, 0, n)}
	prev := indexPoint{rel: -1, pos: -1}
	for i := 0; i < n; i++ {
		o := indexHeaderSize + i*indexPointSize
		p := indexPoint{
			rel: int64(binary.LittleEndian.Uint64(b[o:])),
			pos: int64(binary.LittleEndian.Uint64(b[o+8:])),
			ts:  int64(binary.LittleEndian.Uint64(b[o+16:])),
		}
		if p.rel <= prev.rel || p.pos <= prev.pos || p.rel >= sum.count || p.pos >= sum.size || p.rel%step != 0 {
			return segmentSummary{}, nil, fmt.Errorf("%w: point %d (entry %d at %d) out of order or past the end", errBadIndex, i, p.rel, p.pos)
		}
		x.points = append(x.points, p)
		prev = p
	}
	return sum, x, nil
}
