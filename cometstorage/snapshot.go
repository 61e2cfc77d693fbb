// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/comet-otel/comet/internal/log"
)

// A key directory snapshot is the key directory as it stood at Close,
// with the log position it covers, so the next open reads it and only the
// records appended after that position instead of the whole log. The log
// stays the authority: a snapshot that is damaged, of another version,
// or does not match the log is ignored and the log scanned. Layout
// (little-endian), see the package documentation:
//
//	0    4     magic "CKDS"
//	4    1     version (1)
//	5    3     reserved, zero
//	8    8     next entry N: the snapshot holds the effect of every record before it
//	16   8     segment of the last record before N (its first entry number)
//	24   8     byte offset of that record in its segment
//	32   8     size of that record on disk
//	40   4     CRC-32C of that record's payload
//	44   4     number of segments S
//	48   8     number of keys K
//	56   56·S  segments, ascending: first entry, end entry, bytes, operation
//	           bytes, live bytes, live sets, live tombstones (int64 each)
//	...  K ×   key length (uint32), key, segment, oldest segment (int64
//	           each), record offset, record size, value offset, value
//	           length (uint32 each; value length 0xFFFFFFFF: tombstone)
//	end  4     CRC-32C of everything before
const (
	snapshotFileName    = "keydir.snapshot"
	snapshotMagic       = "CKDS"
	snapshotVersion     = 1
	snapshotHeaderSize  = 56
	snapshotSegmentSize = 56
	snapshotKeyFixed    = 4 + 8 + 8 + 4*4
)

var errBadSnapshot = errors.New("key directory snapshot does not describe this log")

// snapshot is a decoded key directory snapshot.
type snapshot struct {
	next    int64        // records before this entry number are in kd
	last    log.Location // the record before next (when next > 0)
	lastCRC uint32       // CRC-32C of its payload
	segs    []snapSegment
	kd      keydir // accounts of segs and keys; sizes are set from the log
}

// snapSegment is a segment as the log described it at the snapshot.
type snapSegment struct{ base, end, bytes int64 }

var snapshotCRC = crc32.MakeTable(crc32.Castagnoli)

// snapshotBytes encodes kd, which holds the effect of every record before
// entry next, the last of them at last with payload checksum lastCRC, in
// the log whose segments are infos, with its trailing checksum.
func snapshotBytes(kd *keydir, infos []log.SegmentInfo, next int64, last log.Location, lastCRC uint32) []byte {
	var buf bytes.Buffer
	buf.Grow(snapshotHeaderSize + len(infos)*snapshotSegmentSize + len(kd.keys)*(snapshotKeyFixed+16) + 4)
	w := bufio.NewWriter(&buf)
	encodeSnapshot(w, kd, infos, next, last, lastCRC)
	_ = w.Flush() // writes to a bytes.Buffer do not fail
	return binary.LittleEndian.AppendUint32(buf.Bytes(), crc32.Checksum(buf.Bytes(), snapshotCRC))
}

// writeSnapshot stores an encoded snapshot in dir through a temporary
// file, fsync, rename and directory fsync.
func writeSnapshot(dir string, b []byte) (err error) {
	path := filepath.Join(dir, snapshotFileName)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// encodeSnapshot writes everything but the trailing checksum. Errors are
// the writer's, reported by its Flush.
func encodeSnapshot(w *bufio.Writer, kd *keydir, infos []log.SegmentInfo, next int64, last log.Location, lastCRC uint32) {
	var b [snapshotHeaderSize]byte
	copy(b[0:4], snapshotMagic)
	b[4] = snapshotVersion
	binary.LittleEndian.PutUint64(b[8:], uint64(next))
	binary.LittleEndian.PutUint64(b[16:], uint64(last.Segment))
	binary.LittleEndian.PutUint64(b[24:], uint64(last.Offset))
	binary.LittleEndian.PutUint64(b[32:], uint64(last.Size))
	binary.LittleEndian.PutUint32(b[40:], lastCRC)
	binary.LittleEndian.PutUint32(b[44:], uint32(len(infos)))
	binary.LittleEndian.PutUint64(b[48:], uint64(len(kd.keys)))
	_, _ = w.Write(b[:])
	for _, in := range infos {
		s := kd.byBase[in.FirstEntry]
		if s == nil {
			s = &segment{} // created since the last record: no operation yet
		}
		var r [snapshotSegmentSize]byte
		for i, v := range []int64{in.FirstEntry, in.EndEntry, in.Bytes, s.opBytes, s.liveBytes, s.liveSets, s.liveTombs} {
			binary.LittleEndian.PutUint64(r[8*i:], uint64(v))
		}
		_, _ = w.Write(r[:])
	}
	for k, e := range kd.keys {
		var r [snapshotKeyFixed]byte
		binary.LittleEndian.PutUint32(r[0:], uint32(len(k)))
		_, _ = w.Write(r[:4])
		_, _ = w.WriteString(k)
		binary.LittleEndian.PutUint64(r[4:], uint64(e.seg))
		binary.LittleEndian.PutUint64(r[12:], uint64(e.oldest))
		binary.LittleEndian.PutUint32(r[20:], e.off)
		binary.LittleEndian.PutUint32(r[24:], e.size)
		binary.LittleEndian.PutUint32(r[28:], e.voff)
		binary.LittleEndian.PutUint32(r[32:], e.vlen)
		_, _ = w.Write(r[4:])
	}
}

// readSnapshot decodes the snapshot in dir, checking its checksum and its
// internal consistency. Memory is bounded by the file's size.
func readSnapshot(dir string) (*snapshot, error) {
	f, err := os.Open(filepath.Join(dir, snapshotFileName))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() || info.Size() < snapshotHeaderSize+4 {
		return nil, fmt.Errorf("%w: not a regular file of at least %d bytes", errBadSnapshot, snapshotHeaderSize+4)
	}
	crc := crc32.New(snapshotCRC)
	r := &snapshotReader{r: bufio.NewReaderSize(io.TeeReader(io.LimitReader(f, info.Size()-4), crc), 256<<10), crc: crc}
	snap, err := r.decode(info.Size())
	if err != nil {
		return nil, err
	}
	var sum [4]byte
	if _, err := io.ReadFull(f, sum[:]); err != nil || binary.LittleEndian.Uint32(sum[:]) != crc.Sum32() {
		return nil, fmt.Errorf("%w: checksum mismatch", errBadSnapshot)
	}
	return snap, nil
}

// snapshotReader decodes a snapshot as it streams by, remembering the
// first error.
type snapshotReader struct {
	r   *bufio.Reader
	crc hash.Hash32
	err error
	buf [8]byte
}

func (r *snapshotReader) bytes(n int) []byte {
	if r.err != nil {
		return r.buf[:n]
	}
	if _, err := io.ReadFull(r.r, r.buf[:n]); err != nil {
		r.err = fmt.Errorf("%w: truncated", errBadSnapshot)
	}
	return r.buf[:n]
}

func (r *snapshotReader) u32() uint32 { return binary.LittleEndian.Uint32(r.bytes(4)) }
func (r *snapshotReader) i64() int64  { return int64(binary.LittleEndian.Uint64(r.bytes(8))) }

func (r *snapshotReader) decode(fileSize int64) (*snapshot, error) {
	head := make([]byte, snapshotHeaderSize)
	if _, err := io.ReadFull(r.r, head); err != nil {
		return nil, fmt.Errorf("%w: truncated", errBadSnapshot)
	}
	if string(head[0:4]) != snapshotMagic || head[4] != snapshotVersion {
		return nil, fmt.Errorf("%w: magic or version %d is not %q version %d", errBadSnapshot, head[4], snapshotMagic, snapshotVersion)
	}
	snap := &snapshot{
		next: int64(binary.LittleEndian.Uint64(head[8:])),
		last: log.Location{
			ID:      log.MessageID{EntryNumber: -1},
			Segment: int64(binary.LittleEndian.Uint64(head[16:])),
			Offset:  int64(binary.LittleEndian.Uint64(head[24:])),
			Size:    int64(binary.LittleEndian.Uint64(head[32:])),
		},
		lastCRC: binary.LittleEndian.Uint32(head[40:]),
	}
	nsegs := int64(binary.LittleEndian.Uint32(head[44:]))
	nkeys := int64(binary.LittleEndian.Uint64(head[48:]))
	if nsegs*snapshotSegmentSize+nkeys*(snapshotKeyFixed+1) > fileSize {
		return nil, fmt.Errorf("%w: %d segments and %d keys do not fit in %d bytes", errBadSnapshot, nsegs, nkeys, fileSize)
	}
	snap.kd = newKeydir()
	// A hint only: a count the file does not hold fails as truncated
	// before memory follows it.
	snap.kd.keys = make(map[string]entry, min(nkeys, 1<<20))
	if err := r.segments(snap, nsegs); err != nil {
		return nil, err
	}
	if err := r.keys(snap, nkeys); err != nil {
		return nil, err
	}
	return snap, nil
}

func (r *snapshotReader) segments(snap *snapshot, n int64) error {
	for i := int64(0); i < n; i++ {
		in := snapSegment{base: r.i64(), end: r.i64(), bytes: r.i64()}
		s := &segment{base: in.base, opBytes: r.i64(), liveBytes: r.i64(), liveSets: r.i64(), liveTombs: r.i64()}
		if r.err != nil {
			return r.err
		}
		if in.end < in.base || len(snap.segs) > 0 && in.base < snap.segs[len(snap.segs)-1].end {
			return fmt.Errorf("%w: segment %d out of order", errBadSnapshot, in.base)
		}
		snap.segs = append(snap.segs, in)
		snap.kd.segs = append(snap.kd.segs, s)
		snap.kd.byBase[s.base] = s
	}
	return nil
}

func (r *snapshotReader) keys(snap *snapshot, n int64) error {
	kd := &snap.kd
	key := make([]byte, 0, 64)
	for i := int64(0); i < n; i++ {
		klen := r.u32()
		if r.err != nil {
			return r.err
		}
		if klen == 0 || klen > MaxKeySize {
			return fmt.Errorf("%w: key length %d", errBadSnapshot, klen)
		}
		key = slices.Grow(key[:0], int(klen))[:klen]
		if _, err := io.ReadFull(r.r, key); err != nil {
			return fmt.Errorf("%w: truncated", errBadSnapshot)
		}
		e := entry{seg: r.i64(), oldest: r.i64(), off: r.u32(), size: r.u32(), voff: r.u32(), vlen: r.u32()}
		if r.err != nil {
			return r.err
		}
		if kd.byBase[e.seg] == nil || e.oldest > e.seg || !e.tombstone() && uint64(e.voff)+uint64(e.vlen) > uint64(e.size) {
			return fmt.Errorf("%w: key %q points outside its segments", errBadSnapshot, key)
		}
		k := string(key)
		kd.keys[k] = e
		if e.tombstone() {
			s := kd.byBase[e.seg]
			s.tombs = append(s.tombs, k)
		} else {
			kd.live++
		}
	}
	return nil
}

// matches reports whether the snapshot describes a prefix of the log whose
// segments are infos: the segments it knew that still exist have not
// changed (sealed) or only grown (the one that was active), the record
// it ends with is there with the same checksum unless compaction deleted
// its segment since, the log reaches its position, and no segment it
// does not know holds records before it. Segments deleted since are
// allowed: the records after the position account for their removal,
// and keyDirectoryOK checks that afterwards.
func (snap *snapshot) matches(infos []log.SegmentInfo, readLast func(log.Location) ([]byte, error)) error {
	if len(infos) == 0 || infos[len(infos)-1].EndEntry < snap.next {
		return fmt.Errorf("%w: the log ends before entry %d", errBadSnapshot, snap.next)
	}
	known := map[int64]snapSegment{}
	for _, s := range snap.segs {
		known[s.base] = s
	}
	lastKnown := int64(-1)
	if len(snap.segs) > 0 {
		lastKnown = snap.segs[len(snap.segs)-1].base
	}
	lastExists := false
	for _, in := range infos {
		lastExists = lastExists || in.FirstEntry == snap.last.Segment
		s, ok := known[in.FirstEntry]
		switch {
		case !ok && in.FirstEntry < snap.next:
			return fmt.Errorf("%w: segment %d holds records before entry %d that it does not know", errBadSnapshot, in.FirstEntry, snap.next)
		case !ok:
		case s.base == lastKnown && (in.EndEntry < s.end || in.Bytes < s.bytes):
			return fmt.Errorf("%w: segment %d is shorter than it was", errBadSnapshot, s.base)
		case s.base != lastKnown && (in.EndEntry != s.end || in.Bytes != s.bytes):
			return fmt.Errorf("%w: sealed segment %d changed", errBadSnapshot, s.base)
		}
	}
	if snap.next == 0 || !lastExists {
		return nil
	}
	data, err := readLast(snap.last)
	if err != nil || crc32.Checksum(data, snapshotCRC) != snap.lastCRC {
		return fmt.Errorf("%w: its last record (segment %d offset %d) is not in the log", errBadSnapshot, snap.last.Segment, snap.last.Offset)
	}
	return nil
}

// dropVanished completes a key directory restored from a snapshot and
// brought up to date with the records after it, when compaction deleted
// segments since the snapshot. Compaction deletes a segment only once no
// key points into it, so a key that still does was last written by a
// record that is gone as well (a tombstone, or a value superseded by one,
// that compaction dropped since it no longer hid anything): a read of
// the whole log finds no record of it, and it is forgotten. A tombstone
// that no longer hides anything, its older segments being gone, is
// dropped as collectTombstone would.
func (d *keydir) dropVanished() {
	for k, e := range d.keys {
		if d.byBase[e.seg] == nil {
			if !e.tombstone() {
				d.live--
			}
			delete(d.keys, k)
		}
	}
	for _, s := range d.segs {
		for _, k := range s.tombs {
			d.collectTombstone(s, k)
		}
	}
}

// sizes makes the segment accounts those of the log's segments, with
// their sizes: accounts of segments deleted since the snapshot go (their
// keys are settled by dropVanished), segments created since get one.
func (d *keydir) sizes(infos []log.SegmentInfo) {
	exists := map[int64]bool{}
	for _, in := range infos {
		exists[in.FirstEntry] = true
	}
	for _, s := range slices.Clone(d.segs) {
		if !exists[s.base] {
			d.removeSegment(s)
		}
	}
	d.disk = 0
	for _, s := range d.segs {
		s.bytes = 0
	}
	for _, in := range infos {
		d.addRecord(d.segment(in.FirstEntry), in.Bytes)
	}
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync; NTFS journals metadata
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
