// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"go.uber.org/zap"
)

// Reads start at readChunk bytes and grow to cover the requested count at
// the recent average record size, up to maxReadChunk (or one record).
const (
	readChunk    = 64 << 10
	maxReadChunk = 4 << 20
)

// cursor reads one shard sequentially: it keeps its segment and byte
// position between reads, so the cost per entry does not depend on where
// in the log the entry is. It holds the segment's read handle only while
// reading (see park), so a segment deleted while its consumer waits frees
// its disk space at once.
type cursor struct {
	mu      sync.Mutex
	s       *shard
	seg     *segment // nil until positioned
	f       *os.File // seg's read handle while held, nil when parked
	pos     int64    // byte offset of entry in seg
	entry   int64
	avgSize int64 // recent average record size, for sizing reads

	// Where the last read started, for rewind.
	startSeg          *segment
	startPos, startAt int64

	track bool       // record the location of each decoded message in locs
	locs  []Location // (for Scan)

	trackTimes bool    // record the append time of each decoded message in times
	times      []int64 // (for ScanRecords)
}

// hold takes seg's read handle, releasing any other the cursor holds.
func (cur *cursor) hold(seg *segment) error {
	if cur.seg == seg && cur.f != nil {
		return nil
	}
	f, err := seg.acquire()
	if err != nil {
		return err
	}
	cur.park()
	cur.seg, cur.f = seg, f
	return nil
}

// park releases the read handle and keeps the position.
func (cur *cursor) park() {
	if cur.f != nil {
		cur.seg.release()
		cur.f = nil
	}
}

// markStart remembers the position a read starts at.
func (cur *cursor) markStart() { cur.startSeg, cur.startPos, cur.startAt = cur.seg, cur.pos, cur.entry }

// rewind goes back to where the last read started, so that reading the
// same entries again costs no seek. The cursor must be parked.
func (cur *cursor) rewind() {
	if cur.startSeg != nil {
		cur.seg, cur.pos, cur.entry = cur.startSeg, cur.startPos, cur.startAt
	}
}

// close forgets the position too.
func (cur *cursor) close() {
	cur.park()
	cur.seg, cur.startSeg = nil, nil
}

// resume takes the handle of the segment the cursor is parked in, or
// repositions at its entry when that segment is gone. It returns the
// entries skipped because they no longer exist.
func (cur *cursor) resume() (gap int64, err error) {
	if err := cur.hold(cur.seg); err == nil || !errors.Is(err, errSegmentGone) {
		return 0, err
	}
	return cur.seek(cur.entry)
}

// seek positions the cursor at entry, or at the first entry after it that
// can be read. gap is the number of entries skipped because their segment
// no longer exists.
func (cur *cursor) seek(entry int64) (gap int64, err error) {
	for range 3 {
		seg := cur.s.segmentFor(entry)
		if err := cur.hold(seg); err != nil {
			if errors.Is(err, errSegmentGone) {
				continue // deleted under us: look again
			}
			return gap, err
		}
		if entry < seg.base {
			gap += seg.base - entry
			entry = seg.base
		}
		p := seg.index.floor(entry - seg.base)
		cur.pos, cur.entry = p.pos, seg.base+p.rel
		return gap, cur.skip(entry - cur.entry)
	}
	return gap, fmt.Errorf("stream %s: segments keep disappearing while seeking", cur.s.name)
}

// skip steps over n records of the current segment without decoding them.
// Damage on the way may move it further (the entries are counted in
// CometStats.CorruptEntries).
func (cur *cursor) skip(n int64) error {
	target := cur.entry + n
	limit := cur.seg.size.Load()
	sc := newScanner(cur.f, limit)
	for cur.entry < target && cur.pos < limit {
		h, _, st, err := sc.at(cur.pos)
		if err != nil {
			return fmt.Errorf("read %s at offset %d: %w", cur.seg.path, cur.pos, err)
		}
		if st != recOK {
			if err := cur.stepOverDamage(sc, h, st); err != nil {
				return err
			}
			continue
		}
		cur.pos += h.recordSize()
		cur.entry++
	}
	return nil
}

// stepOverDamage moves the cursor past a damaged record at its position:
// one record when its length can be trusted; else to the next intact
// record when its entry number can be told from an anchor (the next index
// point, or the end of the segment); else to that anchor. The skipped
// entries are logged and counted once per damaged place. An intact record
// of a newer format is not damage: it is a *FormatError, and the cursor
// stays where it is.
func (cur *cursor) stepOverDamage(sc *scanner, h header, st recStatus) error {
	seg, from, fromPos := cur.seg, cur.entry, cur.pos
	if _, rec, nst, err := sc.at(cur.pos); err == nil && nst == recNewerFormat {
		return &FormatError{Path: seg.path, Offset: cur.pos, What: "record", Found: recordFormatOf(rec), Supported: FormatVersion}
	}
	if sc.skippable(cur.pos, h, st) {
		cur.pos += h.recordSize()
		cur.entry++
	} else {
		cur.pos, cur.entry = cur.resyncAnchored(sc)
	}
	if skipped := cur.entry - from; seg.noteDamage(fromPos) {
		c := cur.s.c
		c.stats.corruptEntries.Add(skipped)
		c.log.Warn("Skipping damaged records: their entries will not be delivered",
			zap.Error(&CorruptionError{File: seg.path, Offset: fromPos, Entry: from, Reason: st.reason()}),
			zap.Int64("skipped_entries", skipped))
	}
	return nil
}

// resyncAnchored finds the first intact record after damage at the
// cursor and numbers it by walking to the anchor that follows: the next
// index point or the end of the segment, whose entry numbers are known.
// When that fails it returns the anchor itself.
func (cur *cursor) resyncAnchored(sc *scanner) (pos, entry int64) {
	seg := cur.seg
	anchorPos, anchorEntry := seg.size.Load(), seg.end()
	if p, ok := seg.index.after(cur.entry - seg.base); ok {
		anchorPos, anchorEntry = p.pos, seg.base+p.rel
	}
	next, ok := sc.resync(cur.pos + 1)
	if !ok || next > anchorPos {
		return anchorPos, anchorEntry
	}
	// Walk to the anchor stepping over further damage the way the
	// recovery scan does, so both number the same records the same way.
	records := int64(0)
	for p := next; p < anchorPos; records++ {
		h, _, st, err := sc.at(p)
		if err != nil {
			return anchorPos, anchorEntry
		}
		if p, ok = sc.stepPast(p, h, st); !ok || p > anchorPos {
			return anchorPos, anchorEntry
		}
	}
	if e := anchorEntry - records; e > cur.entry {
		return next, e
	}
	return anchorPos, anchorEntry
}

// quota bounds one read: a number of messages and, optionally, their
// payload bytes. The first message is taken whatever its size, so a read
// always progresses.
type quota struct {
	entries int   // messages still allowed
	bytes   int64 // payload bytes still allowed, when limited
	limited bool
	taken   int
}

// entryQuota allows n messages of any size.
func entryQuota(n int) quota { return quota{entries: n} }

// byteQuota allows n messages of at most bytes payload bytes in all.
func byteQuota(n int, bytes int64) quota { return quota{entries: n, bytes: bytes, limited: true} }

// fits reports whether a payload of size bytes may be taken.
func (q *quota) fits(size int) bool { return !q.limited || q.taken == 0 || int64(size) <= q.bytes }

func (q *quota) take(size int) {
	q.entries--
	q.taken++
	q.bytes -= int64(size)
}

// read appends messages from entry cur.entry on, in order, within q, and
// stops at the end of the committed data. gap counts entries found missing
// because their segment was deleted.
func (cur *cursor) read(q quota, out []StreamMessage) (_ []StreamMessage, gap int64, err error) {
	for q.entries > 0 {
		limit := cur.seg.size.Load()
		if cur.pos >= limit {
			moved, skipped, err := cur.nextSegment()
			gap += skipped
			if err != nil || !moved {
				return out, gap, err
			}
			continue
		}
		buf, err := cur.fetch(limit, &q)
		if err != nil {
			return out, gap, err
		}
		if out, err = cur.decode(buf, &q, out); err != nil {
			return out, gap, err
		}
	}
	return out, gap, nil
}

// nextSegment moves a cursor at the end of its segment on: to the next
// segment when this one is sealed, or (read-only) to data the writer added
// since. moved is false when there is nothing more to read now.
func (cur *cursor) nextSegment() (moved bool, gap int64, err error) {
	if !cur.seg.sealed.Load() {
		return cur.s.readOnly && cur.s.refresh(), 0, nil
	}
	end := cur.seg.end()
	next := cur.s.segmentFor(end)
	if next == cur.seg {
		return false, 0, nil
	}
	if err := cur.hold(next); err != nil {
		if errors.Is(err, errSegmentGone) {
			return true, 0, nil // deleted meanwhile: segmentFor will skip it
		}
		return false, 0, err
	}
	cur.pos, cur.entry = 0, next.base
	return true, max(next.base-end, 0), nil
}

// fetch reads the next bytes of the segment: enough for what q still
// allows at the average record size (and its byte limit), and at least
// the whole next record.
func (cur *cursor) fetch(limit int64, q *quota) ([]byte, error) {
	avg := max(cur.avgSize, headerSize)
	want := int64(q.entries)*avg + avg
	if q.limited {
		want = min(want, q.bytes+avg)
	}
	size := min(max(want, readChunk), maxReadChunk, limit-cur.pos)
	buf, err := cur.readAt(size)
	if err != nil || len(buf) < headerSize {
		return buf, err
	}
	if h, ok := parseHeader(buf); ok && h.recordSize() > size && cur.pos+h.recordSize() <= limit {
		return cur.readAt(h.recordSize())
	}
	return buf, nil
}

func (cur *cursor) readAt(size int64) ([]byte, error) {
	buf := make([]byte, size)
	if _, err := cur.f.ReadAt(buf, cur.pos); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s at offset %d: %w", cur.seg.path, cur.pos, err)
	}
	return buf, nil
}

// decode turns the complete records at the start of buf into messages and
// advances the cursor past them. Payloads alias buf (or are freshly
// decompressed); buf is never reused. At damage it steps over it and
// returns, so the caller fetches from the new position. An intact record
// of a newer format is an error.
func (cur *cursor) decode(buf []byte, q *quota, out []StreamMessage) ([]StreamMessage, error) {
	s := cur.s
	off := 0
	for q.entries > 0 && off < len(buf) {
		st, payload := recOK, []byte(nil)
		hdr, ok := header{}, false
		if len(buf)-off >= headerSize {
			hdr, ok = parseHeader(buf[off:])
		}
		size := int(hdr.recordSize())
		switch {
		case len(buf)-off < headerSize || ok && len(buf)-off < size:
			if off > 0 {
				return out, nil // incomplete in this read: the next read starts here
			}
			st = recShort // a whole record does not fit in the committed data
		case !ok:
			st = recBadHeader
		case !checksumOK(hdr, buf[off:off+size]):
			st = recBadChecksum
		default:
			var err error
			if payload, err = decodePayload(buf[off+headerSize:off+size], hdr.flags); err != nil {
				st = recBadChecksum // intact bytes that do not decode: treated as damage
			}
		}
		if st != recOK {
			return out, cur.stepOverDamage(newScanner(cur.f, cur.seg.size.Load()), hdr, st)
		}
		if !q.fits(len(payload)) {
			q.entries = 0 // full: this record starts the next read
			return out, nil
		}
		q.take(len(payload))
		id := MessageID{EntryNumber: cur.entry, ShardID: s.key.shard}
		out = append(out, StreamMessage{Stream: s.name, ID: id, Data: payload})
		if cur.track {
			cur.locs = append(cur.locs, Location{ID: id, Segment: cur.seg.base, Offset: cur.pos, Size: int64(size)})
		}
		if cur.trackTimes {
			cur.times = append(cur.times, hdr.ts)
		}
		off += size
		cur.pos += int64(size)
		cur.entry++
		cur.avgSize = (cur.avgSize*7 + int64(size)) / 8
	}
	return out, nil
}
