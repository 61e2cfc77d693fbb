// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"encoding/binary"
	"hash/crc32"
	"os"
)

// indexImage is an index file as read for verification: its fields, how
// far they could be parsed, and whether its checksum holds.
type indexImage struct {
	size     int // bytes of the file
	sum      segmentSummary
	points   []indexPoint // the points in order, up to the first bad one
	crcOK    bool
	headerOK bool // magic, version and point count parse: sum is meaningful
	reported bool // a problem of the file itself was reported
}

// readIndex reads and parses an index file, reporting what is wrong with
// it on its own. It returns nil when the file is unusable for comparison.
func (v *verifier) readIndex(path string) *indexImage {
	b, err := os.ReadFile(path)
	if err != nil {
		v.damage(path, -1, -1, "cannot read the index: %v", err)
		return nil
	}
	img := &indexImage{size: len(b)}
	bad := func(offset int64, format string, args ...any) {
		img.reported = true
		v.damage(path, offset, -1, "index "+format+"; a writer rebuilds it at its next open", args...)
	}
	switch {
	case len(b) < indexHeaderSize+4:
		bad(0, "file is %d bytes, shorter than the smallest index (%d bytes)", len(b), indexHeaderSize+4)
		return nil
	case string(b[0:4]) != indexMagic:
		bad(0, "magic is %q, not %q", b[0:4], indexMagic)
		return nil
	case b[4] != indexVersion:
		bad(4, "version is %d, not %d", b[4], indexVersion)
		return nil
	}
	if b[5] != 0 || b[6] != 0 || b[7] != 0 {
		bad(5, "reserved bytes are not zero")
	}
	body := b[:len(b)-4]
	img.crcOK = crc32.Checksum(body, castagnoli) == binary.LittleEndian.Uint32(b[len(b)-4:])
	var step, n int64
	img.sum, step, n = indexHeader(b)
	if want := (int64(len(body)) - indexHeaderSize) / indexPointSize; n != want || int64(len(body)) != indexHeaderSize+n*indexPointSize {
		bad(48, "claims %d points; its size (%d bytes) holds %d", n, len(b), want)
		return nil
	}
	if step < 1 {
		bad(40, "step is %d; it must be at least 1", step)
		return nil
	}
	img.headerOK = true
	img.points = parsePoints(b, n, step, img.sum, bad)
	return img
}

// parsePoints returns the index points up to the first that is out of
// order, off the step, or past the end the index states.
func parsePoints(b []byte, n, step int64, sum segmentSummary, bad func(int64, string, ...any)) []indexPoint {
	points := make([]indexPoint, 0, n)
	prev := indexPoint{rel: -1, pos: -1}
	for i := int64(0); i < n; i++ {
		o := indexHeaderSize + i*indexPointSize
		p := indexPoint{
			rel: int64(binary.LittleEndian.Uint64(b[o:])),
			pos: int64(binary.LittleEndian.Uint64(b[o+8:])),
			ts:  int64(binary.LittleEndian.Uint64(b[o+16:])),
		}
		if p.rel <= prev.rel || p.pos <= prev.pos || p.rel >= sum.count || p.pos >= sum.size || p.rel%step != 0 {
			bad(o, "point %d (relative entry %d at offset %d) is out of order, off its step of %d, or past the end the index states", i, p.rel, p.pos, step)
			return points
		}
		points = append(points, p)
		prev = p
	}
	return points
}

// compareIndex checks an index against the walk of its segment, as the
// open path does (same size; as many records as it counts) and more
// (every point and the time bounds). When the segment is damaged only
// the size is compared: the rest may differ because of the damage, which
// is reported on the segment. The index of the active (last) segment is
// the checkpoint a writer left at Close: it may describe a prefix of the
// segment, records appended since follow it.
func (v *verifier) compareIndex(path string, img *indexImage, segSize int64, w segmentWalk, last bool) {
	bad := func(offset int64, format string, args ...any) {
		img.reported = true
		v.damage(path, offset, -1, "index "+format+"; a writer rebuilds it at its next open", args...)
	}
	if img.headerOK {
		if img.sum.size < segSize && (last || v.writer == LockTaken) {
			// A checkpoint of a prefix, left at Close for the active
			// segment; the writer holding the lock rewrites it when it
			// seals the segment. Its points were checked in the walk.
		} else if img.sum.size != segSize {
			bad(8, "describes a segment of %d bytes; the segment has %d (it changed after it was sealed, or the index is damaged)", img.sum.size, segSize)
		} else if w.damaged == 0 {
			v.compareWithIntactSegment(img, w, bad)
		}
	}
	if !img.crcOK && !img.reported {
		bad(int64(img.size-4), "checksum mismatch: the CRC-32C stored at offset %d does not match bytes 0 to %d", img.size-4, img.size-5)
	}
}

func (v *verifier) compareWithIntactSegment(img *indexImage, w segmentWalk, bad func(int64, string, ...any)) {
	switch {
	case img.sum.count != w.count:
		bad(16, "counts %d entries; the segment has %d", img.sum.count, w.count)
		return
	case w.count > 0 && img.sum.minTs != w.minTs:
		bad(24, "says the oldest record is from %d; it is from %d", img.sum.minTs, w.minTs)
	case w.count > 0 && img.sum.maxTs != w.maxTs:
		bad(32, "says the newest record is from %d; it is from %d", img.sum.maxTs, w.maxTs)
	}
	for _, f := range w.points {
		bad(f.Offset, "%s", f.Reason)
	}
}
