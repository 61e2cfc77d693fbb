// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"
	"io"
)

// recStatus is what the scanner found at a position.
type recStatus int

const (
	recOK          recStatus = iota
	recBadChecksum           // header plausible, record within bounds, checksum wrong
	recBadHeader             // header fields no writer produces: length unknown
	recShort                 // header or record runs past the end of the data
	recNewerFormat           // intact record of a newer on-disk format: not damage
)

func (s recStatus) reason() string {
	switch s {
	case recBadChecksum:
		return "checksum mismatch"
	case recBadHeader:
		return "invalid header"
	case recShort:
		return "record runs past the end of the data (torn write)"
	case recNewerFormat:
		return "record of a newer on-disk format"
	}
	return "ok"
}

const scanChunk = 256 << 10

// scanner reads records from a segment file through a reusable buffer.
type scanner struct {
	r      io.ReaderAt
	limit  int64 // readable bytes
	buf    []byte
	bufOff int64 // file offset of buf[0]
	n      int   // valid bytes in buf
}

func newScanner(r io.ReaderAt, limit int64) *scanner {
	return &scanner{r: r, limit: limit}
}

// fill makes [pos, pos+want) available in the buffer. want must fit in limit.
func (sc *scanner) fill(pos int64, want int) error {
	if pos >= sc.bufOff && pos+int64(want) <= sc.bufOff+int64(sc.n) {
		return nil
	}
	size := max(want, scanChunk)
	if rest := sc.limit - pos; int64(size) > rest {
		size = int(rest)
	}
	if cap(sc.buf) < size {
		sc.buf = make([]byte, size)
	}
	sc.buf = sc.buf[:size]
	n, err := sc.r.ReadAt(sc.buf, pos)
	if n < want {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		sc.n = 0
		return err
	}
	sc.bufOff, sc.n = pos, n
	return nil
}

// at examines the record starting at pos. rec (header and payload) is
// valid until the next call. err is an I/O error, never corruption.
func (sc *scanner) at(pos int64) (h header, rec []byte, st recStatus, err error) {
	if pos+headerSize > sc.limit {
		return h, nil, recShort, nil
	}
	if err := sc.fill(pos, headerSize); err != nil {
		return h, nil, recShort, err
	}
	off := int(pos - sc.bufOff)
	h, ok := parseHeader(sc.buf[off : off+headerSize])
	if !ok {
		return sc.badHeader(pos, h)
	}
	size := h.recordSize()
	if pos+size > sc.limit {
		return h, nil, recShort, nil
	}
	if err := sc.fill(pos, int(size)); err != nil {
		return h, nil, recShort, err
	}
	off = int(pos - sc.bufOff)
	rec = sc.buf[off : off+int(size)]
	if !checksumOK(h, rec) {
		return h, rec, recBadChecksum, nil
	}
	return h, rec, recOK, nil
}

// badHeader examines a record at pos whose header this format does not
// accept: damage, or an intact record of a newer format.
func (sc *scanner) badHeader(pos int64, h header) (header, []byte, recStatus, error) {
	off := int(pos - sc.bufOff)
	if recordFormatOf(sc.buf[off:]) <= FormatVersion || h.length > hardMaxEntrySize || pos+h.recordSize() > sc.limit {
		return h, nil, recBadHeader, nil
	}
	if err := sc.fill(pos, int(h.recordSize())); err != nil {
		return h, nil, recShort, err
	}
	off = int(pos - sc.bufOff)
	rec := sc.buf[off : off+int(h.recordSize())]
	if newerRecordFormat(h, rec) {
		return h, rec, recNewerFormat, nil
	}
	return h, rec, recBadHeader, nil
}

// skippable reports whether a damaged record at pos (bad checksum, or a
// header field no writer produces) can be stepped over: its length field
// is trusted only when a valid record starts right after it. A damaged
// last record is never skippable: it is a torn tail.
func (sc *scanner) skippable(pos int64, h header, st recStatus) bool {
	if st != recBadChecksum && st != recBadHeader || h.length > hardMaxEntrySize {
		return false
	}
	next := pos + h.recordSize()
	if next >= sc.limit {
		return false
	}
	_, _, nst, err := sc.at(next)
	return err == nil && nst == recOK
}

// resync finds the first offset at or after from where an intact record
// starts: the way past damage whose length field cannot be trusted. ok is
// false when none follows (a torn tail). The search is byte by byte; a
// candidate must have a valid header that fits and a matching checksum.
func (sc *scanner) resync(from int64) (pos int64, ok bool) {
	for p := from; p+headerSize <= sc.limit; p++ {
		if err := sc.fill(p, headerSize); err != nil {
			return 0, false
		}
		off := int(p - sc.bufOff)
		h, plausible := parseHeader(sc.buf[off : off+headerSize])
		if !plausible || p+h.recordSize() > sc.limit {
			continue
		}
		if _, _, st, err := sc.at(p); err == nil && st == recOK {
			return p, true
		}
	}
	return 0, false
}

// stepPast returns where the walk continues after the record at pos: right
// after it when it is intact or its length can be trusted, else at the
// next intact record. ok is false when nothing intact follows.
func (sc *scanner) stepPast(pos int64, h header, st recStatus) (next int64, ok bool) {
	if st == recOK || sc.skippable(pos, h, st) {
		return pos + h.recordSize(), true
	}
	return sc.resync(pos + 1)
}

// scanResult is what a full scan of a segment found.
type scanResult struct {
	validEnd   int64 // end of the last record kept
	count      int64 // records kept, damaged ones included
	minTs      int64
	maxTs      int64
	stopStatus recStatus // why the scan stopped before limit (recOK: it did not)
	backwards  bool      // a record is stamped earlier than one before it
	skipped    []int64   // offsets of damaged records stepped over
	// resynced holds the relative entry numbers of damaged records whose
	// length could not be trusted: the bytes up to the next intact record
	// count as that one entry, so the entries after it may be numbered
	// lower than when they were written.
	resynced []int64
}

// scanSegment walks the records of a segment in [start, limit), the first
// of them having relative entry number rel0, adding index points to x. A
// damaged record is stepped over when an intact record follows it (with
// resync, even when its length cannot be trusted); the scan stops at the
// first damage with nothing intact after it: the caller truncates there
// (writer) or waits for more data (reader, without resync: the writer may
// be in the middle of a write). count in the result is the number of
// records walked. An intact record of a newer format stops the scan with
// a *FormatError (its Path left for the caller to fill): it is not
// damage, and nothing after it may be truncated.
func scanSegment(r io.ReaderAt, start, rel0, limit int64, x *sparseIndex, resync bool) (scanResult, error) {
	sc := newScanner(r, limit)
	res := scanResult{validEnd: start}
	pos, rel := start, rel0
	for pos < limit {
		h, rec, st, err := sc.at(pos)
		if err != nil {
			return res, err
		}
		if st == recNewerFormat {
			return res, &FormatError{Offset: pos, What: "record", Found: recordFormatOf(rec), Supported: FormatVersion}
		}
		next := pos + h.recordSize()
		if st != recOK {
			if !sc.skippable(pos, h, st) {
				var ok bool
				if next, ok = sc.resync(pos + 1); !resync || !ok {
					res.stopStatus = st
					break
				}
				res.resynced = append(res.resynced, rel)
			}
			res.skipped = append(res.skipped, pos)
			// The timestamp of a damaged record is not trusted: the point
			// borrows the previous one so index times stay ordered.
			h.ts = res.maxTs
		}
		if x.wants(rel) {
			x.add(indexPoint{rel: rel, pos: pos, ts: h.ts})
		}
		if rel > rel0 && h.ts < res.maxTs {
			res.backwards = true
		}
		if rel == rel0 || h.ts < res.minTs {
			res.minTs = h.ts
		}
		res.maxTs = max(res.maxTs, h.ts)
		pos = next
		rel++
	}
	res.validEnd, res.count = pos, rel-rel0
	return res, nil
}
