// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
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
