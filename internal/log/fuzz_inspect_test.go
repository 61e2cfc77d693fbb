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

	"github.com/stretchr/testify/require"
)

// The readers operators' tools use beyond recovery (which
// FuzzRecoverAndRead covers: one active segment, opened by a writer):
// VerifyDirectory on segments, index files and offset files, and a
// ReadOnly client scanning a sealed segment described by an arbitrary
// index.

// writeShard writes segment files (base → bytes) and index files into a
// new shard directory "fz:v1:shard:0000" of a new data directory.
func writeShard(t *testing.T, segments map[int64][]byte, indexes map[int64][]byte) (dir, shard string) {
	dir = t.TempDir()
	shard = filepath.Join(dir, "fz", "v1", "shard-0000")
	require.NoError(t, os.MkdirAll(shard, 0o700))
	for base, b := range segments {
		require.NoError(t, os.WriteFile(filepath.Join(shard, segmentFileName(base)), b, 0o600))
	}
	for base, b := range indexes {
		require.NoError(t, os.WriteFile(filepath.Join(shard, indexFileName(base)), b, 0o600))
	}
	return dir, shard
}

// validSegmentAndIndex returns an intact segment and its index.
func validSegmentAndIndex() (seg, idx []byte, count int64) {
	seg = seedSegments()[0]
	x := newSparseIndex(2, 16)
	res, _ := scanSegment(bytes.NewReader(seg), 0, 0, int64(len(seg)), x, true)
	sum := segmentSummary{size: res.validEnd, count: res.count, minTs: res.minTs, maxTs: res.maxTs}
	return seg, encodeIndex(sum, x), res.count
}

// FuzzVerifySegment checks VerifyDirectory on an arbitrary active
// segment: it never fails or panics, places findings inside the file, and
// finds no damage exactly when recovery would keep every byte and skip
// nothing.
func FuzzVerifySegment(f *testing.F) {
	for _, s := range seedSegments() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir, _ := writeShard(t, map[int64][]byte{0: data}, nil)
		var damage []Finding
		sum, err := VerifyDirectory(context.Background(), dir, VerifyOptions{Report: func(f Finding) {
			if f.Offset < -1 || f.Offset > int64(len(data)) {
				t.Fatalf("finding outside the file of %d bytes: %v", len(data), f)
			}
			if f.Damage {
				damage = append(damage, f)
			}
		}})
		require.NoError(t, err)
		res, err := scanSegment(bytes.NewReader(data), 0, 0, int64(len(data)), newSparseIndex(2, 16), true)
		if errors.Is(err, ErrNewerFormat) {
			return // a newer writer's record: refused, not damage
		}
		require.NoError(t, err)
		clean := res.validEnd == int64(len(data)) && len(res.skipped) == 0
		if clean && len(damage) > 0 && !undecodable(damage) {
			t.Fatalf("recovery finds the segment intact, verify reports %v", damage)
		}
		if !clean && len(damage) == 0 {
			t.Fatalf("recovery finds damage (%+v), verify reports none", res)
		}
		if sum.Records != res.count {
			t.Fatalf("verify walked %d records, recovery %d", sum.Records, res.count)
		}
	})
}

// undecodable reports whether every finding is a compressed payload that
// does not decode: damage recovery's scan does not look for (readers do).
func undecodable(findings []Finding) bool {
	for _, f := range findings {
		if !bytes.Contains([]byte(f.Reason), []byte("does not decode")) {
			return false
		}
	}
	return true
}

// FuzzVerifyIndex checks VerifyDirectory on an arbitrary index of an
// intact sealed segment: it never panics, and an index it finds no fault
// with is one the open path accepts too.
func FuzzVerifyIndex(f *testing.F) {
	_, idx, _ := validSegmentAndIndex()
	f.Add(idx)
	f.Add(idx[:len(idx)-1])
	flipped := bytes.Clone(idx)
	flipped[indexHeaderSize+9] ^= 1
	f.Add(flipped)
	f.Add([]byte(indexMagic))
	f.Fuzz(func(t *testing.T, index []byte) {
		seg, _, count := validSegmentAndIndex()
		dir, shard := writeShard(t, map[int64][]byte{0: seg, count: seedSegments()[0]}, map[int64][]byte{0: index})
		idxPath := filepath.Join(shard, indexFileName(0))
		var indexDamage []Finding
		_, err := VerifyDirectory(context.Background(), dir, VerifyOptions{Report: func(f Finding) {
			if f.File == idxPath && f.Damage {
				indexDamage = append(indexDamage, f)
			}
			if f.Damage && f.File != idxPath {
				t.Fatalf("damage reported outside the index: %v", f)
			}
		}})
		require.NoError(t, err)
		file, err := os.Open(filepath.Join(shard, segmentFileName(0)))
		require.NoError(t, err)
		defer file.Close()
		_, _, openErr := loadIndex(idxPath, file, int64(len(seg)), 16, false)
		if len(indexDamage) == 0 && openErr != nil {
			t.Fatalf("verify accepts an index the open path rejects: %v", openErr)
		}
	})
}

// FuzzVerifyOffsetFile checks the offset-file check against the engine's
// decoder: it never panics, flags every file the decoder rejects, and
// accepts only files the decoder reads.
func FuzzVerifyOffsetFile(f *testing.F) {
	f.Add(encodeOffsetFile("g", 7, 3))
	f.Add(encodeOffsetFile("g", -1, 1))
	f.Add(encodeOffsetFile("g", 500, 2))
	f.Add([]byte(offsetMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		v := &verifier{ctx: context.Background()}
		var damage, notices int
		v.opts.Report = func(f Finding) {
			if f.Offset < -1 || f.Offset > int64(len(b)) {
				t.Fatalf("finding outside the file of %d bytes: %v", len(b), f)
			}
			if f.Damage {
				damage++
			} else {
				notices++
			}
		}
		v.checkOffsetFile("file", groupFileName("g"), b, 100)
		name, off, _, err := decodeOffsetFile(b)
		if err != nil && damage == 0 {
			t.Fatalf("the decoder rejects the file (%v), verify does not", err)
		}
		if damage == 0 && (name != "g" || off < 0) {
			t.Fatalf("verify accepts a file holding group %q at offset %d", name, off)
		}
	})
}

// FuzzReadOnlyScan opens, read-only, a shard whose sealed segment and
// index are arbitrary bytes, followed by an intact active segment: the
// client opens, scans in entry order and changes nothing on disk.
func FuzzReadOnlyScan(f *testing.F) {
	seg, idx, _ := validSegmentAndIndex()
	f.Add(seg, idx)
	for _, s := range seedSegments() {
		f.Add(s, idx)
	}
	f.Add(seg, []byte{})
	f.Fuzz(func(t *testing.T, sealed, index []byte) {
		tail := seedSegments()[0]
		dir, _ := writeShard(t, map[int64][]byte{0: sealed, 1 << 20: tail}, map[int64][]byte{0: index})
		before := snapshotDir(t, dir)
		c, err := NewClientWithConfig(dir, readOnlyConfig())
		if errors.Is(err, ErrNewerFormat) {
			require.Equal(t, before, snapshotDir(t, dir), "a newer format is refused without a change")
			return
		}
		require.NoError(t, err, "a read-only client always opens, unless a newer format wrote it")
		last := int64(-1)
		err = c.ScanRecords(context.Background(), "fz:v1:shard:0000", 0, func(r Record) error {
			if r.ID.EntryNumber <= last {
				t.Fatalf("entry %d after %d", r.ID.EntryNumber, last)
			}
			last = r.ID.EntryNumber
			return nil
		})
		require.NoError(t, err)
		require.GreaterOrEqual(t, last, int64(1<<20), "the intact segment after the damaged one is read")
		_, err = c.GroupPositions("fz:v1:shard:*")
		require.NoError(t, err)
		require.NoError(t, c.Close())
		require.Equal(t, before, snapshotDir(t, dir))
	})
}
