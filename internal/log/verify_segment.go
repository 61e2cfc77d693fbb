// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// segmentWalk is what a walk over every record of a segment found.
type segmentWalk struct {
	count   int64 // records, damaged ones included: the segment's entries
	damaged int64 // damaged records (a damaged tail counts as one)
	minTs   int64
	maxTs   int64
	// points holds what the walk found where the index has points, as
	// findings to report only if the segment itself is intact (otherwise
	// a mismatch is a consequence of the segment's damage).
	points []Finding
}

// verifySegment walks every record of one segment and checks its index.
// It returns the entry after the segment's last record and whether the
// segment could be read.
func (v *verifier) verifySegment(dir string, base int64, last, hasIndex bool) (end int64, ok bool) {
	path := filepath.Join(dir, segmentFileName(base))
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false // deleted by retention since it was listed
	}
	if err != nil {
		v.damage(path, -1, -1, "cannot open: %v", err)
		return 0, false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		v.damage(path, -1, -1, "cannot stat: %v", err)
		return 0, false
	}
	size := info.Size()
	v.sum.Segments++
	v.sum.SegmentBytes += size

	idxPath := filepath.Join(dir, indexFileName(base))
	var idx *indexImage
	if hasIndex {
		v.sum.Indexes++
		idx = v.readIndex(idxPath)
	} else if !last {
		v.notice(idxPath, -1, -1, "the sealed segment %s has no index file: a writer scans the segment and writes it at its next open", filepath.Base(path))
	}
	w := v.walkSegment(f, path, base, size, last, idx)
	v.sum.Records += w.count
	v.sum.DamagedRecords += w.damaged
	if idx != nil {
		v.compareIndex(idxPath, idx, size, w, last)
	}
	v.done += size
	if v.opts.Progress != nil {
		v.opts.Progress(v.done, v.total)
	}
	return base + w.count, true
}

// walkSegment reads every record, reporting damaged ones. It steps over
// damage the way recovery does, so entry numbers agree with readers'.
func (v *verifier) walkSegment(r io.ReaderAt, path string, base, size int64, last bool, idx *indexImage) segmentWalk {
	var w segmentWalk
	sc := newScanner(r, size)
	var points []indexPoint
	if idx != nil {
		points = idx.points
	}
	k := 0 // next index point to compare
	pos, rel := int64(0), int64(0)
	for pos < size && v.ctx.Err() == nil {
		h, rec, st, err := sc.at(pos)
		if err != nil {
			w.damaged++
			v.damage(path, pos, base+rel, "read error: %v", err)
			break
		}
		if k < len(points) && points[k].rel == rel {
			w.checkPoint(k, points[k], pos, h.ts, st)
			k++
		}
		if st == recOK {
			if h.flags&flagCodecMask == codecZstdFlag {
				if _, err := decodePayload(rec[headerSize:], h.flags); err != nil {
					w.damaged++
					v.damage(path, pos, base+rel, "the checksum holds but the compressed payload does not decode (%v): readers skip the entry", err)
				}
			}
			w.noteTimestamp(rel, h.ts)
			pos += h.recordSize()
			rel++
			continue
		}
		next, ok := sc.stepPast(pos, h, st)
		w.damaged++
		if !ok {
			v.reportTail(r, path, pos, base+rel, size, h, st, last)
			break
		}
		v.damage(path, pos, base+rel, "%s; readers skip the entry", describeDamage(r, pos, next, h, st))
		pos = next
		rel++
	}
	w.count = rel
	return w
}

func (w *segmentWalk) noteTimestamp(rel, ts int64) {
	if rel == 0 || ts < w.minTs {
		w.minTs = ts
	}
	w.maxTs = max(w.maxTs, ts)
}

// checkPoint compares an index point with the record the walk found at
// its entry.
func (w *segmentWalk) checkPoint(k int, p indexPoint, pos, ts int64, st recStatus) {
	at := int64(indexHeaderSize + k*indexPointSize)
	switch {
	case p.pos != pos:
		w.points = append(w.points, Finding{Offset: at + 8, Entry: -1, Damage: true,
			Reason: fmt.Sprintf("point for relative entry %d says offset %d; the record is at %d", p.rel, p.pos, pos)})
	case st == recOK && p.ts != ts:
		w.points = append(w.points, Finding{Offset: at + 16, Entry: -1, Damage: true,
			Reason: fmt.Sprintf("point for relative entry %d says time %d; the record says %d", p.rel, p.ts, ts)})
	}
}

// reportTail reports a segment whose last bytes hold no intact record. At
// the end of the active segment while a writer holds the lock that is a
// record being written, not damage.
func (v *verifier) reportTail(r io.ReaderAt, path string, pos, entry, size int64, h header, st recStatus, last bool) {
	n := size - pos
	if st == recShort {
		reason := fmt.Sprintf("the last %d bytes are an incomplete record (a write cut short by a crash)", n)
		switch {
		case last && v.writer == LockTaken:
			v.notice(path, pos, entry, "the last %d bytes are an incomplete record: the writer holding the lock is writing it", n)
		case last && v.writer == LockUnknown:
			v.damage(path, pos, entry, "%s; a writer truncates it at its next open (if a collector is writing this directory now, it may be a record being written: run verify again)", reason)
		case last:
			v.damage(path, pos, entry, "%s; a writer truncates it at its next open", reason)
		default:
			v.damage(path, pos, entry, "%s in a sealed segment; readers skip it", reason)
		}
		return
	}
	what := describeDamage(r, pos, -1, h, st)
	if last {
		v.damage(path, pos, entry, "%s, and no intact record follows in the last %d bytes (a torn write); a writer truncates the segment there at its next open", what, n)
		return
	}
	v.damage(path, pos, entry, "%s, and no intact record follows in the last %d bytes of this sealed segment; readers skip them", what, n)
}

// describeDamage says what is wrong with the damaged record at pos, whose
// walk resumes at next (-1: nothing intact follows).
func describeDamage(r io.ReaderAt, pos, next int64, h header, st recStatus) string {
	var what string
	switch st {
	case recBadChecksum:
		what = fmt.Sprintf("checksum mismatch in a record of %d bytes", h.recordSize())
	case recBadHeader:
		what = "invalid header (" + headerProblem(r, pos) + ")"
	default:
		what = st.reason()
	}
	if next < 0 || st == recBadChecksum && next == pos+h.recordSize() {
		return what
	}
	if st != recShort {
		return fmt.Sprintf("%s; its length cannot be trusted: the next intact record starts at offset %d", what, next)
	}
	return what
}

// headerProblem names the header fields of the record at pos that no
// writer produces.
func headerProblem(r io.ReaderAt, pos int64) string {
	b := make([]byte, headerSize)
	if _, err := r.ReadAt(b, pos); err != nil {
		return err.Error()
	}
	var problems []string
	if l := binary.LittleEndian.Uint32(b[0:4]); l > hardMaxEntrySize {
		problems = append(problems, fmt.Sprintf("length %d over the 1 GiB limit", l))
	}
	if f := b[16]; f&^flagCodecMask != 0 || f&flagCodecMask > codecZstdFlag {
		problems = append(problems, fmt.Sprintf("unknown flags 0x%02x", f))
	}
	if b[17] != 0 || b[18] != 0 || b[19] != 0 {
		problems = append(problems, "reserved bytes not zero")
	}
	return strings.Join(problems, ", ")
}
