// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// largeTestEnv opts in to the tests that write more than 2 GiB: they take a
// few seconds and gigabytes of disk. CI runs them for armv7 under qemu
// (scripts/emulated-tests.sh), where int is 32 bits wide.
const largeTestEnv = "COMET_TEST_LARGE"

const largeEntry = 32 << 20

// largePayload is entry i: its number, then a byte pattern of i.
func largePayload(i int) []byte {
	b := make([]byte, largeEntry)
	binary.LittleEndian.PutUint64(b, uint64(i))
	for j := 8; j < len(b); j += 4096 {
		b[j] = byte(i)
	}
	return b
}

// TestLarge_SegmentAndBacklogPast2GiB writes one segment of 2.25 GiB and a
// second of 0.5 GiB, and checks everything that involves offsets and sizes
// past 2^31 bytes: entry numbers, stats, reading every entry, seeking by
// entry and by time beyond the 2 GiB mark, and a reopen.
func TestLarge_SegmentAndBacklogPast2GiB(t *testing.T) {
	if os.Getenv(largeTestEnv) == "" {
		t.Skip("writes 2.75 GiB: set " + largeTestEnv + "=1 to run it")
	}
	dir := t.TempDir()
	cfg := DefaultCometConfig()
	cfg.Durability.Mode = SyncNone
	cfg.Compression.Codec = CodecNone
	cfg.Storage.MaxFileSize = 3 << 30
	cfg.Storage.MaxEntrySize = largeEntry
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	ctx := context.Background()
	const stream = "big:v1:shard:0000"
	const inFirst, total = 72, 88 // 72 × 32 MiB = 2.25 GiB in the first segment
	times := make([]time.Time, total)
	for i := range total {
		if i == inFirst {
			require.NoError(t, c.Rotate(stream))
		}
		times[i] = time.Now()
		ids, err := c.Append(ctx, stream, [][]byte{largePayload(i)})
		require.NoError(t, err)
		require.Equal(t, int64(i), ids[0].EntryNumber)
		time.Sleep(time.Millisecond) // distinct append times
	}
	segs, err := c.Segments(stream)
	require.NoError(t, err)
	require.Len(t, segs, 2)
	record := int64(headerSize + largeEntry)
	assert.Equal(t, inFirst*record, segs[0].Bytes, "a segment past 2 GiB reports its size")
	st := c.Counters()
	assert.Equal(t, total*record, st.DiskUsage)
	assert.Equal(t, int64(total), st.TotalEntries)
	assert.Equal(t, total*int64(largeEntry), st.TotalBytes)

	checkLarge := func(c *Client) {
		cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "big:v1:shard:*"})
		defer cons.Close()
		for i := range total {
			msgs, err := cons.Read(ctx, []uint32{0}, 1)
			require.NoError(t, err)
			require.Len(t, msgs, 1, "entry %d", i)
			require.Equal(t, int64(i), msgs[0].ID.EntryNumber)
			require.Equal(t, uint64(i), binary.LittleEndian.Uint64(msgs[0].Data), "entry %d's bytes", i)
			require.Equal(t, byte(i), msgs[0].Data[largeEntry-4096+8])
			require.NoError(t, cons.Ack(ctx, msgs[0].ID))
		}
		// Past the 2 GiB mark of the first segment (entry 64 starts at 2 GiB + 64 headers).
		require.NoError(t, cons.ResetOffset(ctx, 0, 70))
		msgs, err := cons.Read(ctx, []uint32{0}, 1)
		require.NoError(t, err)
		require.Equal(t, uint64(70), binary.LittleEndian.Uint64(msgs[0].Data))
		require.NoError(t, cons.SeekToTime(ctx, 0, times[68]))
		msgs, err = cons.Read(ctx, []uint32{0}, 1)
		require.NoError(t, err)
		require.Equal(t, int64(68), msgs[0].ID.EntryNumber, "seek by time lands past the 2 GiB mark")
		at, ok, err := cons.OldestUnackedTime(ctx, 0)
		require.NoError(t, err)
		require.True(t, ok)
		assert.False(t, at.Before(times[68]))
	}
	checkLarge(c)
	require.NoError(t, c.Close())

	reopened, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	defer reopened.Close()
	n, err := reopened.Len(ctx, stream)
	require.NoError(t, err)
	require.Equal(t, int64(total), n, "the reopened log has every entry")
	require.NoError(t, reopened.DeleteConsumerGroup("big:v1:shard:*", "g"))
	checkLarge(reopened)
}
