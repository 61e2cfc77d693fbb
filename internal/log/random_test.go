// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClient_AppendLocated_ReadAtAndScanAgree(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 4096
	cfg.Compression = CompressionConfig{Codec: CodecZstd, MinCompressSize: 256}
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	ctx := context.Background()
	stream := "kv:v1:shard:0000"
	var locs []Location
	var want [][]byte
	for i := range 200 {
		entries := [][]byte{payload(0, i, 50+i%300), payload(0, -i, 700)}
		got, err := c.AppendLocated(ctx, stream, entries)
		require.NoError(t, err)
		locs = append(locs, got...)
		want = append(want, entries...)
	}
	for i, loc := range locs {
		require.EqualValues(t, i, loc.ID.EntryNumber)
		data, err := c.ReadAt(ctx, stream, loc)
		require.NoError(t, err)
		require.Equal(t, want[i], data)
	}
	require.NoError(t, c.Close())

	c = openClient(t, dir, cfg)
	var scanned []Location
	require.NoError(t, c.Scan(ctx, stream, 0, func(loc Location, data []byte) error {
		require.Equal(t, want[loc.ID.EntryNumber], data)
		scanned = append(scanned, loc)
		return nil
	}))
	require.Equal(t, locs, scanned, "Scan reports the locations AppendLocated returned")

	segs, err := c.Segments(stream)
	require.NoError(t, err)
	require.Greater(t, len(segs), 3)
	require.True(t, segs[0].Sealed)
	require.False(t, segs[len(segs)-1].Sealed)
	require.Error(t, c.DeleteSegment(stream, segs[len(segs)-1].FirstEntry), "the active segment cannot go")

	require.NoError(t, c.DeleteSegment(stream, segs[1].FirstEntry))
	_, err = c.ReadAt(ctx, stream, locs[segs[1].FirstEntry])
	require.ErrorIs(t, err, ErrEntryGone)
	data, err := c.ReadAt(ctx, stream, locs[segs[2].FirstEntry])
	require.NoError(t, err, "segments after a deleted one stay readable")
	require.Equal(t, want[segs[2].FirstEntry], data)

	require.NoError(t, c.Rotate(stream))
	after, err := c.Segments(stream)
	require.NoError(t, err)
	require.Len(t, after, len(segs))
	require.True(t, after[len(after)-2].Sealed)
	require.Zero(t, after[len(after)-1].Bytes)
}

// TestClient_Scan_LargeRecordsHoldBoundedMemory scans 100 MiB of 512 KiB
// records: the records a step holds until fn has seen them are bounded by
// bytes, not only by count, so the heap stays far below the data.
func TestClient_Scan_LargeRecordsHoldBoundedMemory(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Compression.Codec = CodecNone
	cfg.Storage.MaxFileSize = 32 << 20
	c := openClient(t, dir, cfg)
	entry := make([]byte, 512<<10)
	for i := range 200 {
		entry[0] = byte(i)
		_, err := c.Append(context.Background(), "kv:v1:shard:0000", [][]byte{entry})
		require.NoError(t, err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	n := 0
	require.NoError(t, c.Scan(context.Background(), "kv:v1:shard:0000", 0, func(_ Location, data []byte) error {
		require.Equal(t, byte(n), data[0])
		n++
		if n%10 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	}))
	require.Equal(t, 200, n)
	require.Less(t, peak-base, uint64(48<<20), "heap grew by %d MiB while scanning 100 MiB", (peak-base)>>20)
}
