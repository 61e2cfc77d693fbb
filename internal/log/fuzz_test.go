// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// seedSegments returns segment images for the fuzz corpus: valid records
// (raw and compressed), a torn one, a flipped bit, zeros.
func seedSegments() [][]byte {
	cfg := CompressionConfig{Codec: CodecZstd, MinCompressSize: 64}
	b := encodeBatch([][]byte{[]byte("one"), {}, bytes.Repeat([]byte("compressible "), 20), []byte("last")}, 1700000000000000000, &cfg)
	valid := append([]byte(nil), b.buf...)
	b.free()
	flipped := append([]byte(nil), valid...)
	flipped[headerSize+1] ^= 0x10
	newer := append(append([]byte(nil), valid...), newerRecord([]byte("format 2"), 2)...)
	return [][]byte{valid, valid[:len(valid)-3], flipped, make([]byte, 64), nil, valid[:headerSize], newer}
}

// FuzzScanSegment checks the recovery scan on arbitrary bytes: it never
// panics, keeps only a prefix, and what it keeps scans clean.
func FuzzScanSegment(f *testing.F) {
	for _, s := range seedSegments() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x := newSparseIndex(2, 16)
		res, err := scanSegment(bytes.NewReader(data), 0, 0, int64(len(data)), x, true)
		if errors.Is(err, ErrNewerFormat) {
			return // refused, not repaired: nothing to check
		}
		if err != nil {
			t.Fatalf("scan of in-memory bytes failed: %v", err)
		}
		if res.validEnd > int64(len(data)) || res.validEnd < 0 {
			t.Fatalf("validEnd %d outside [0, %d]", res.validEnd, len(data))
		}
		again, err := scanSegment(bytes.NewReader(data[:res.validEnd]), 0, 0, res.validEnd, newSparseIndex(2, 16), true)
		if err != nil || again.validEnd != res.validEnd || again.count != res.count || again.stopStatus != recOK {
			t.Fatalf("the kept prefix does not rescan clean: %+v vs %+v (%v)", again, res, err)
		}
		for _, p := range x.points {
			if p.pos >= res.validEnd || p.rel >= res.count {
				t.Fatalf("index point %+v beyond the kept data (%d bytes, %d records)", p, res.validEnd, res.count)
			}
		}
	})
}

// FuzzRecoverAndRead opens a log whose only segment holds arbitrary bytes:
// it always opens, every entry it reports is readable or skipped as
// damaged, and appends continue after the recovered prefix.
func FuzzRecoverAndRead(f *testing.F) {
	for _, s := range seedSegments() {
		f.Add(s)
	}
	f.Fuzz(recoverAndRead)
}

// recoverAndRead is the body of FuzzRecoverAndRead.
func recoverAndRead(t *testing.T, data []byte) {
	dir := t.TempDir()
	shardDir := filepath.Join(dir, "fz", "v1", "shard-0000")
	if err := os.MkdirAll(shardDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shardDir, segmentFileName(0)), data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	c, err := NewClientWithConfig(dir, cfg)
	if errors.Is(err, ErrNewerFormat) {
		return // a newer format is refused, never repaired
	}
	if err != nil {
		t.Fatalf("the log must always open: %v", err)
	}
	defer c.Close()
	ctx := context.Background()
	n, err := c.Len(ctx, "fz:v1:shard:0000")
	if err != nil {
		t.Fatal(err)
	}
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "fz:v1:shard:*"})
	msgs, err := cons.Read(ctx, nil, int(n)+10)
	if err != nil {
		t.Fatalf("read after recovery: %v", err)
	}
	if int64(len(msgs))+c.GetStats().CorruptEntries != n {
		t.Fatalf("%d entries reported, %d read, %d skipped as damaged", n, len(msgs), c.GetStats().CorruptEntries)
	}
	ids, err := c.Append(ctx, "fz:v1:shard:0000", [][]byte{[]byte("after")})
	if err != nil || ids[0].EntryNumber != n {
		t.Fatalf("append after recovery: %v %v (want entry %d)", ids, err, n)
	}
	if err := cons.Ack(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
}
