// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDurability_Always_GroupCommitCoversEveryAppend(t *testing.T) {
	cfg := testConfig()
	cfg.Durability.Mode = SyncAlways
	cfg.Storage.MaxFileSize = 1 << 20
	c := openClient(t, t.TempDir(), cfg)
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				_, err := c.Append(context.Background(), "logs:v1:shard:0000", [][]byte{payload(uint32(w), i, 100)})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	st := c.GetStats()
	require.EqualValues(t, writers*each, st.FsyncedEntries, "every acknowledged entry was covered by an fsync")
	require.LessOrEqual(t, st.Fsyncs, int64(writers*each))
	t.Logf("%d appends, %d fsyncs (%.1f entries per fsync)", writers*each, st.Fsyncs, float64(st.FsyncedEntries)/float64(st.Fsyncs))
}

func TestDurability_Interval_SyncsWithinIntervalAndByCount(t *testing.T) {
	cfg := testConfig()
	cfg.Durability = DurabilityConfig{Mode: SyncInterval, Interval: 20 * time.Millisecond, MaxPendingEntries: 100}
	cfg.Storage.MaxFileSize = 1 << 20
	c := openClient(t, t.TempDir(), cfg)
	appendN(t, c, "logs:v1:shard:0000", 1000, 50, 1)
	s := c.allShards()[0]
	require.Less(t, s.unsyncedEntries(), int64(100), "no more than MaxPendingEntries stay unsynced")
	require.GreaterOrEqual(t, c.GetStats().Fsyncs, int64(9), "the count bound forced fsyncs")
	appendN(t, c, "logs:v1:shard:0000", 10, 50, 1)
	eventually(t, 5*time.Second, func() bool { return s.unsyncedEntries() == 0 }, "the interval syncer covers the rest")
}

func TestDurability_None_NoFsyncOnAppendPath(t *testing.T) {
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 1 << 20
	c := openClient(t, t.TempDir(), cfg)
	appendN(t, c, "logs:v1:shard:0000", 1000, 50, 1)
	require.Zero(t, c.GetStats().Fsyncs)
	require.NoError(t, c.Sync(context.Background()))
	require.EqualValues(t, 1, c.GetStats().Fsyncs, "Sync makes everything durable on demand")
	require.Zero(t, c.allShards()[0].unsyncedEntries())
}

func TestDurability_None_SyncCoversSegmentsSealedSinceLastSync(t *testing.T) {
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 4096
	c := openClient(t, t.TempDir(), cfg)
	appendN(t, c, "logs:v1:shard:0000", 200, 100, 1) // about 6 rotations, no fsync
	require.Zero(t, c.GetStats().Fsyncs)
	rotations := c.GetStats().Rotations
	require.Positive(t, rotations)
	require.NoError(t, c.Sync(context.Background()))
	require.EqualValues(t, rotations+1, c.GetStats().Fsyncs, "every sealed segment and the active one")
	require.NoError(t, c.Sync(context.Background()))
	require.EqualValues(t, rotations+1, c.GetStats().Fsyncs, "with nothing new, Sync has nothing to do")
}
