// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"

	"go.uber.org/zap"
)

// batch is a set of entries encoded as consecutive records, ready for one
// write. Batches are pooled so the append path does not allocate per entry.
type batch struct {
	buf    []byte
	starts []int // offset of each record in buf
	ts     int64
	raw    int64 // entry bytes before compression
	zipped int64 // entries stored compressed

	restScratch [headerSize - 8]byte // for headerRestCRC
}

var batchPool = sync.Pool{New: func() any { return new(batch) }}

// maxPooledBatch keeps one huge batch from pinning its memory in the pool.
const maxPooledBatch = 8 << 20

// parallelEncodeBytes is the batch size from which compression is split
// over the available cores: below it, handing work to another goroutine
// costs more than it saves.
const parallelEncodeBytes = 64 << 10

// encodeBatch encodes entries (compressing where configured) with one
// timestamp. It runs outside the shard lock. A large batch with entries
// to compress is encoded in parts on several cores and the parts
// concatenated. A batch stored raw is encoded on the calling goroutine:
// copying and checksumming run at memory speed, several times faster than
// the write that follows, and a helper goroutine is rarely scheduled
// before the caller blocks (on a 2-vCPU VM, a goroutine started by one
// that then stays busy for 60 µs starts after 61 µs at the median), so
// helpers would only add their start-up cost.
func encodeBatch(entries [][]byte, ts int64, cfg *CompressionConfig) *batch {
	total := 0
	for _, e := range entries {
		total += headerSize + len(e)
	}
	parts := min(runtime.GOMAXPROCS(0), maxEncodeParts, len(entries))
	if total < parallelEncodeBytes || parts < 2 || !mayCompress(entries, cfg) {
		return newBatch(ts).encode(entries, total, cfg)
	}
	return encodeInParts(entries, parts, total, ts, cfg)
}

// mayCompress reports whether any entry is a candidate for compression.
func mayCompress(entries [][]byte, cfg *CompressionConfig) bool {
	if cfg.Codec != CodecZstd {
		return false
	}
	return slices.ContainsFunc(entries, func(e []byte) bool { return wantsCompression(e, cfg) })
}

// encodeInParts encodes parts slices of entries concurrently, the first on
// the calling goroutine, and joins them in order.
func encodeInParts(entries [][]byte, parts, total int, ts int64, cfg *CompressionConfig) *batch {
	var rest [maxEncodeParts - 1]*batch
	var wg sync.WaitGroup
	per := (len(entries) + parts - 1) / parts
	for i := 1; i < parts; i++ {
		chunk := entries[min(i*per, len(entries)):min((i+1)*per, len(entries))]
		wg.Go(func() { rest[i-1] = newBatch(ts).encode(chunk, total/parts, cfg) })
	}
	b := newBatch(ts).encode(entries[:per], total, cfg)
	wg.Wait()
	for _, part := range rest[:parts-1] {
		b.join(part)
		part.free()
	}
	return b
}

// maxEncodeParts bounds the goroutines one large batch is encoded on.
const maxEncodeParts = 4

func newBatch(ts int64) *batch {
	b := batchPool.Get().(*batch)
	b.buf, b.starts, b.ts, b.raw, b.zipped = b.buf[:0], b.starts[:0], ts, 0, 0
	return b
}

// encode appends the records of entries to b; sizeHint is the expected
// encoded size. It works on local slices so the per-entry loop does no
// pointer writes to the heap.
func (b *batch) encode(entries [][]byte, sizeHint int, cfg *CompressionConfig) *batch {
	buf := slices.Grow(b.buf, sizeHint)
	starts := slices.Grow(b.starts, len(entries))
	var raw, zipped int64
	var zero [headerSize]byte
	restCRC := headerRestCRC(&b.restScratch, b.ts, codecRawFlag)
	for _, e := range entries {
		start := len(buf)
		starts = append(starts, start)
		raw += int64(len(e))
		if !wantsCompression(e, cfg) {
			buf = slices.Grow(buf, headerSize+len(e))[:start+headerSize+len(e)]
			putRecord(buf[start:], b.ts, codecRawFlag, restCRC, e)
			continue
		}
		buf = append(buf, zero[:]...)
		var flags byte
		buf, flags = appendPayload(buf, e, cfg)
		putHeader(buf[start:], b.ts, flags)
		if flags != codecRawFlag {
			zipped++
		}
	}
	b.buf, b.starts, b.raw, b.zipped = buf, starts, b.raw+raw, b.zipped+zipped
	return b
}

// join appends the records of part to b.
func (b *batch) join(part *batch) {
	offset := len(b.buf)
	b.buf = append(b.buf, part.buf...)
	for _, start := range part.starts {
		b.starts = append(b.starts, start+offset)
	}
	b.raw += part.raw
	b.zipped += part.zipped
}

func (b *batch) free() {
	if cap(b.buf) <= maxPooledBatch {
		batchPool.Put(b)
	}
}

// append writes entries to the shard and applies the durability policy.
func (s *shard) append(ctx context.Context, entries [][]byte) ([]MessageID, error) {
	first, err := s.appendWith(ctx, entries, nil)
	if err != nil {
		return nil, err
	}
	ids := make([]MessageID, len(entries))
	for i := range ids {
		ids[i] = MessageID{EntryNumber: first + int64(i), ShardID: s.key.shard}
	}
	return ids, nil
}

// onWritten learns where a batch was written: its first entry number, the
// segment and the byte offset of its first record.
type onWritten func(first int64, seg *segment, segPos int64, b *batch)

// appendWith encodes, admits (full policy), writes and syncs a batch and
// returns its first entry number. written, if set, is called after the
// write and before the batch buffer is recycled.
func (s *shard) appendWith(ctx context.Context, entries [][]byte, written onWritten) (int64, error) {
	c := s.c
	for i, e := range entries {
		if len(e) > c.cfg.Storage.MaxEntrySize {
			return 0, fmt.Errorf("%w: entry %d of the batch for %s is %d bytes, above Storage.MaxEntrySize (%d); nothing was written",
				ErrEntryTooLarge, i, s.name, len(e), c.cfg.Storage.MaxEntrySize)
		}
	}
	b := encodeBatch(entries, c.clock.now().UnixNano(), s.compression(entries))
	defer b.free()
	reserved, err := c.admit(ctx, s, int64(len(b.buf)))
	if err != nil {
		return 0, err
	}
	first, seg, segPos, pos, err := s.write(b)
	c.releaseSpace(s, reserved)
	if err != nil {
		c.stats.errors.Add(1)
		if IsNoSpace(err) {
			// Consumed segments may be waiting for the next cleanup:
			// look for something to delete now.
			c.kickRetention()
			err = fmt.Errorf("%w: %w", ErrNoSpace, err)
		}
		return 0, err
	}
	c.stats.noteAppend(len(entries), b)
	s.wake.notify()
	if written != nil {
		written(first, seg, segPos, b)
	}
	return first, s.applyDurability(pos)
}

// applyDurability waits, per the sync mode, for the fsync covering an
// append that ended at written position pos.
func (s *shard) applyDurability(pos int64) error {
	cfg := &s.c.cfg.Durability
	switch cfg.Mode {
	case SyncAlways:
		return s.waitSynced(pos)
	case SyncInterval:
		if cfg.MaxPendingEntries > 0 && s.unsyncedEntries() >= int64(cfg.MaxPendingEntries) {
			return s.waitSynced(pos)
		}
	}
	return nil
}

// write appends the batch's records under the shard lock. It returns the
// first entry number, the segment and offset of the first record, and the
// written position after the batch (for group commit).
func (s *shard) write(b *batch) (first int64, seg *segment, segPos, pos int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return 0, nil, 0, 0, ErrClosed
	}
	if s.broken != nil {
		if err := s.repair(); err != nil {
			return 0, nil, 0, 0, err
		}
	}
	seg = s.active()
	size := seg.size.Load()
	if size > 0 && size+int64(len(b.buf)) > s.c.cfg.Storage.MaxFileSize {
		if err := s.rotate(); err != nil {
			return 0, nil, 0, 0, err
		}
		seg, size = s.active(), 0
	}
	if _, err := s.w.Write(b.buf); err != nil {
		s.undoWrite(seg, size)
		return 0, nil, 0, 0, fmt.Errorf("append to %s at offset %d: %w", seg.path, size, err)
	}
	n := int64(len(b.starts))
	rel0 := seg.count.Load()
	s.indexBatch(seg, b, rel0, size)
	if rel0 > 0 && b.ts < seg.maxTs.Load() {
		seg.backwards.Store(true)
	}
	seg.noteTimestamp(b.ts)
	seg.written.Store(int64(s.c.clock.since()))
	// next first: an entry a reader can see (through count) is one that
	// Ack accepts.
	first = s.next.Load()
	s.next.Store(first + n)
	seg.count.Store(rel0 + n)
	seg.size.Store(size + int64(len(b.buf)))
	s.bytes.Add(int64(len(b.buf)))
	s.c.diskBytes.Add(int64(len(b.buf)))
	s.c.noteOwnBytes(int64(len(b.buf)))
	return first, seg, size, s.dur.written.Add(int64(len(b.buf))), nil
}

// indexBatch adds the index points that fall inside the batch.
func (s *shard) indexBatch(seg *segment, b *batch, rel0, segPos int64) {
	x := seg.index
	n := int64(len(b.starts))
	for rel := (rel0 + x.step - 1) / x.step * x.step; rel < rel0+n; rel += x.step {
		x.add(indexPoint{rel: rel, pos: segPos + int64(b.starts[rel-rel0]), ts: b.ts})
	}
}

// undoWrite removes what a failed write may have left (a partial record),
// so the next append follows the last complete record.
func (s *shard) undoWrite(seg *segment, size int64) {
	if err := s.w.Truncate(size); err != nil {
		s.broken = fmt.Errorf("undo failed write in %s at offset %d: %w", seg.path, size, err)
		s.c.log.Error("Could not undo a failed write; appends to this stream fail until it succeeds",
			zap.String("file", seg.path), zap.Int64("offset", size), zap.Error(err))
	}
}

// repair retries undoing a failed write.
func (s *shard) repair() error {
	seg := s.active()
	if err := s.w.Truncate(seg.size.Load()); err != nil {
		return fmt.Errorf("%w (retry: %v)", s.broken, err)
	}
	s.broken = nil
	return nil
}

// rotate seals the active segment and starts a new one. Under interval
// and always the finished segment is fsynced here (it is mostly synced
// already); under none nothing is fsynced: the OS writes it back. Its
// index file is written in the background.
func (s *shard) rotate() error {
	old := s.active()
	seg, w, err := s.createSegment(s.next.Load())
	if err != nil {
		return err
	}
	durable := s.c.cfg.Durability.Mode != SyncNone
	d := &s.dur
	d.syncMu.Lock()
	oldW := s.w
	var syncErr error
	if durable {
		syncErr = s.c.timedSync(oldW, s.name)
	}
	s.w = w
	if !durable {
		d.unsynced = append(d.unsynced, old)
	}
	d.syncMu.Unlock()
	if durable {
		if syncErr != nil {
			d.fail(s.name, syncErr)
		} else {
			d.markSynced(d.written.Load(), s.next.Load())
		}
	}
	// Publish the new segment before sealing the old: a reader that finds
	// the old one sealed moves on to the next.
	s.segMu.Lock()
	s.segs = append(s.segs, seg)
	s.segMu.Unlock()
	old.sealed.Store(true)
	s.c.stats.rotations.Add(1)
	s.c.sealInBackground(s, old, oldW, durable)
	return nil
}

// sealInBackground finishes a rotated segment: it closes the old writer
// handle and writes the index file, and (durable modes) syncs the index
// and the directory.
func (c *Client) sealInBackground(s *shard, seg *segment, w *os.File, durable bool) {
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		if err := w.Close(); err != nil {
			c.stats.errors.Add(1)
			c.log.Error("Closing sealed segment failed", zap.String("file", seg.path), zap.Error(err))
		}
		s.writeIndex(seg, durable)
		if !durable {
			return
		}
		if err := syncDir(s.dir); err != nil {
			c.stats.errors.Add(1)
			c.log.Warn("Directory sync after rotation failed", zap.String("dir", s.dir), zap.Error(err))
		}
	}()
}
