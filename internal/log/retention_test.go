// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// retentionConfig makes 10-record segments of 120-byte records.
func retentionConfig() CometConfig {
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 1200
	cfg.Retention.CleanupInterval = time.Hour // tests trigger cleanup themselves
	return cfg
}

func diskUsage(t *testing.T, dir string) (total int64) {
	t.Helper()
	require.NoError(t, filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return nil // a temporary file renamed by the background sealer
		}
		if err == nil && filepath.Ext(path) == segmentSuffix {
			total += info.Size()
		}
		return err
	}))
	return total
}

func TestRetention_ProtectsUnconsumedData_DeletesAfterAck(t *testing.T) {
	cfg := retentionConfig()
	cfg.Retention.MaxAge = time.Nanosecond
	dir := t.TempDir()
	c := openClient(t, dir, cfg)
	appendN(t, c, "logs:v1:shard:0000", 55, 100, 1)
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	c.ForceRetentionCleanup()
	require.Zero(t, c.GetStats().DeletedFiles, "no group has read the shard: everything is unconsumed")

	msgs, err := cons.Read(context.Background(), nil, 25)
	require.NoError(t, err)
	c.ForceRetentionCleanup()
	require.Zero(t, c.GetStats().DeletedFiles, "read but not acknowledged is still unconsumed")

	require.NoError(t, cons.Ack(context.Background(), msgs[24].ID))
	c.ForceRetentionCleanup()
	st := c.GetStats()
	require.EqualValues(t, 2, st.DeletedFiles, "the two segments the group acknowledged entirely")
	require.EqualValues(t, 20, st.DeletedEntries)
	require.Zero(t, st.DroppedUnconsumed)
	require.Equal(t, diskUsage(t, dir), st.DiskUsage)
	require.Len(t, drain(t, cons, 100), 30, "the group reads on from its offset")
}

func TestRetention_ForceDeleteAfter_DropsUnconsumedAndCounts(t *testing.T) {
	cfg := retentionConfig()
	cfg.Retention.MaxAge = time.Nanosecond
	cfg.Retention.ForceDeleteAfter = time.Millisecond
	c := openClient(t, t.TempDir(), cfg)
	cons := NewConsumer(c, ConsumerOptions{Group: "slow", Stream: "logs:v1:shard:*"})
	appendN(t, c, "logs:v1:shard:0000", 35, 100, 1)
	_, err := cons.Read(context.Background(), nil, 1) // the group exists, at entry 0
	require.NoError(t, err)
	time.Sleep(5 * time.Millisecond)
	c.ForceRetentionCleanup()
	st := c.GetStats()
	require.EqualValues(t, 3, st.DeletedFiles)
	require.EqualValues(t, 30, st.DroppedUnconsumed)
	require.EqualValues(t, 30, st.Groups[0].Dropped)

	got := drain(t, cons, 100)
	require.Len(t, got, 5)
	require.EqualValues(t, 30, got[0].ID.EntryNumber, "the group resumes at the earliest surviving entry")
	require.EqualValues(t, 30, c.GetStats().LostEntries, "and the gap is counted")
}

func TestRetention_WhenFull_Reject(t *testing.T) {
	cfg := retentionConfig()
	cfg.Retention.MaxTotalSize = 3000
	cfg.Retention.WhenFull = FullReject
	c := openClient(t, t.TempDir(), cfg)
	appendN(t, c, "logs:v1:shard:0000", 25, 100, 1)
	_, err := c.Append(context.Background(), "logs:v1:shard:0000", [][]byte{make([]byte, 100)})
	require.ErrorIs(t, err, ErrFull)
	n, _ := c.Len(context.Background(), "logs:v1:shard:0000")
	require.EqualValues(t, 25, n, "nothing of a rejected batch is written")
	require.EqualValues(t, 1, c.GetStats().FullRejections)

	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	drain(t, cons, 100)
	_, err = c.Append(context.Background(), "logs:v1:shard:0000", [][]byte{make([]byte, 100)})
	require.NoError(t, err, "acknowledged segments make room")
	require.LessOrEqual(t, c.GetStats().DiskUsage, int64(3000))
}

func TestRetention_WhenFull_BlockWaitsForConsumer(t *testing.T) {
	cfg := retentionConfig()
	cfg.Retention.MaxTotalSize = 3000
	cfg.Retention.WhenFull = FullBlock
	c := openClient(t, t.TempDir(), cfg)
	appendN(t, c, "logs:v1:shard:0000", 25, 100, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Append(ctx, "logs:v1:shard:0000", [][]byte{make([]byte, 100)})
	require.ErrorIs(t, err, ErrFull, "a blocked append gives up when its context ends")
	require.ErrorIs(t, err, context.DeadlineExceeded)

	done := make(chan error, 1)
	go func() {
		_, err := c.Append(context.Background(), "logs:v1:shard:0000", [][]byte{[]byte("waited")})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("append did not block: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	drain(t, cons, 100)
	select {
	case err := <-done:
		require.NoError(t, err, "the append proceeds once a consumer frees space")
	case <-time.After(5 * time.Second):
		t.Fatal("append still blocked after the consumer acknowledged everything")
	}
	require.GreaterOrEqual(t, c.GetStats().FullWaits, int64(1))
}

func TestRetention_WhenFull_DropOldestKeepsNewest(t *testing.T) {
	cfg := retentionConfig()
	cfg.Retention.MaxTotalSize = 3000
	cfg.Retention.WhenFull = FullDropOldest
	dir := t.TempDir()
	c := openClient(t, dir, cfg)
	_, err := c.Append(context.Background(), "logs:v1:shard:0000", [][]byte{payload(0, -1, 100)})
	require.NoError(t, err)
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	require.NoError(t, cons.ResetOffset(context.Background(), 0, 0)) // the group exists on the shard
	want := appendN(t, c, "logs:v1:shard:0000", 100, 100, 1)
	st := c.GetStats()
	require.LessOrEqual(t, st.DiskUsage, int64(3000), "disk stays within the budget")
	require.Equal(t, diskUsage(t, dir), st.DiskUsage)
	require.Positive(t, st.DroppedUnconsumed)
	require.Equal(t, st.DroppedUnconsumed, st.Groups[0].Dropped)

	got := drain(t, cons, 1000)
	require.Equal(t, want[99], got[len(got)-1].Data, "the newest entry is kept")
	require.EqualValues(t, 101-len(got), st.DroppedUnconsumed)
}

func TestRetention_WhenFull_BatchLargerThanBudgetFailsClearly(t *testing.T) {
	cfg := retentionConfig()
	cfg.Retention.MaxTotalSize = 1000
	c := openClient(t, t.TempDir(), cfg)
	_, err := c.Append(context.Background(), "logs:v1:shard:0000", [][]byte{make([]byte, 2000)})
	require.ErrorIs(t, err, ErrEntryTooLarge)
	require.ErrorContains(t, err, "retention budget")
}

func TestRetention_DeleteConsumed_ReturnsDiskAfterDrain(t *testing.T) {
	cfg := retentionConfig()
	cfg.Retention.DeleteConsumed = true
	cfg.Retention.CleanupInterval = time.Hour // the acknowledgements drive it
	dir := t.TempDir()
	c := openClient(t, dir, cfg)
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	appendN(t, c, "logs:v1:shard:0000", 95, 100, 1)
	require.Len(t, drain(t, cons, 7), 95)
	eventually(t, 3*idleSealAfter, func() bool { return c.GetStats().DiskUsage == 0 },
		"consumed segments, and the active one once idle, are deleted within about a second")
	require.Zero(t, diskUsage(t, dir))
	ids, err := c.Append(context.Background(), "logs:v1:shard:0000", [][]byte{[]byte("next")})
	require.NoError(t, err)
	require.EqualValues(t, 95, ids[0].EntryNumber, "numbering continues")
}

func TestRetention_MaxShardSize(t *testing.T) {
	cfg := retentionConfig()
	cfg.Retention.MaxShardSize = 2500
	cfg.Retention.ProtectUnconsumed = false
	c := openClient(t, t.TempDir(), cfg)
	appendN(t, c, "logs:v1:shard:0001", 100, 100, 1)
	appendN(t, c, "logs:v1:shard:0002", 5, 100, 1)
	c.ForceRetentionCleanup()
	for _, s := range c.allShards() {
		require.LessOrEqual(t, s.bytes.Load(), int64(2500), s.name)
	}
	require.EqualValues(t, 5, mustLen(t, c, "logs:v1:shard:0002"))
}

func TestRetention_SegmentsDeletedUnderAGroup_ResumeAtEarliest(t *testing.T) {
	// A crash in the middle of a cleanup (or an operator deleting files)
	// leaves a group's offset pointing at entries that are gone.
	dir := t.TempDir()
	cfg := retentionConfig()
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	appendN(t, c, "logs:v1:shard:0000", 45, 100, 1)
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	require.NoError(t, cons.Ack(context.Background(), MessageID{EntryNumber: 4}))
	require.NoError(t, c.Close())
	shardDir := filepath.Dir(segmentPath(dir, 0))
	require.NoError(t, os.Remove(filepath.Join(shardDir, segmentFileName(0))))
	require.NoError(t, os.Remove(filepath.Join(shardDir, segmentFileName(10)))) // its index stays behind

	c = openClient(t, dir, cfg)
	require.NoFileExists(t, filepath.Join(shardDir, indexFileName(10)), "an index without its segment is removed at open")
	got := drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"}), 100)
	require.Len(t, got, 25)
	require.EqualValues(t, 20, got[0].ID.EntryNumber)
	require.EqualValues(t, 15, c.GetStats().LostEntries)
}

func TestRetention_OffsetPastRecoveredEnd_IsClamped(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	appendN(t, c, "logs:v1:shard:0000", 10, 100, 1)
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	require.NoError(t, cons.Ack(context.Background(), MessageID{EntryNumber: 9}))
	require.NoError(t, c.Close())
	// A power loss took the last 3 records but not the offset.
	require.NoError(t, os.Truncate(segmentPath(dir, 0), 7*120))

	c = openClient(t, dir, cfg)
	cons = NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	lag, err := cons.GetLag(context.Background(), 0)
	require.NoError(t, err)
	require.Zero(t, lag)
	ids, err := c.Append(context.Background(), "logs:v1:shard:0000", [][]byte{[]byte("new")})
	require.NoError(t, err)
	require.EqualValues(t, 7, ids[0].EntryNumber)
	got := drain(t, cons, 10)
	require.Len(t, got, 1, "the group reads what is appended after the clamp")
	require.Equal(t, "new", string(got[0].Data))
}

func mustLen(t *testing.T, c *Client, stream string) int64 {
	t.Helper()
	n, err := c.Len(context.Background(), stream)
	require.NoError(t, err)
	return n
}

func TestRetention_MinFilesToKeep(t *testing.T) {
	cfg := retentionConfig()
	cfg.Retention.MaxAge = time.Nanosecond
	cfg.Retention.ProtectUnconsumed = false
	cfg.Retention.MinFilesToKeep = 3
	c := openClient(t, t.TempDir(), cfg)
	appendN(t, c, "logs:v1:shard:0000", 75, 100, 1) // 8 segments
	c.ForceRetentionCleanup()
	segs, err := c.Segments("logs:v1:shard:0000")
	require.NoError(t, err)
	require.Len(t, segs, 3, "expired segments go, the newest MinFilesToKeep stay")
	require.EqualValues(t, 50, segs[0].FirstEntry)
}
