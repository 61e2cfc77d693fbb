// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConsumer_Register_ProtectsShardsBeforeFirstRead(t *testing.T) {
	cfg := retentionConfig()
	cfg.Retention.MaxAge = time.Nanosecond
	c := openClient(t, t.TempDir(), cfg)
	appendN(t, c, "logs:v1:shard:0000", 35, 100, 1)
	other := NewConsumer(c, ConsumerOptions{Group: "fast", Stream: "logs:v1:shard:*"})
	drain(t, other, 100)

	late := NewConsumer(c, ConsumerOptions{Group: "late", Stream: "logs:v1:shard:*"})
	require.NoError(t, late.Register(context.Background()))
	c.ForceRetentionCleanup()
	require.Zero(t, c.GetStats().DeletedFiles, "a registered group protects what it has not read")
	require.Len(t, drain(t, late, 100), 35)

	latest := NewConsumer(c, ConsumerOptions{Group: "latest", Stream: "logs:v1:shard:*", Start: StartLatest})
	require.NoError(t, latest.Register(context.Background()))
	lag, err := latest.GetLag(context.Background(), 0)
	require.NoError(t, err)
	require.Zero(t, lag, "a StartLatest group registers at the end")
}

func TestClient_DeleteConsumerGroup_StopsProtectingItsData(t *testing.T) {
	cfg := retentionConfig()
	cfg.Retention.MaxAge = time.Nanosecond
	c := openClient(t, t.TempDir(), cfg)
	appendN(t, c, "logs:v1:shard:0000", 35, 100, 1)
	retired := NewConsumer(c, ConsumerOptions{Group: "old name", Stream: "logs:v1:shard:*"})
	require.NoError(t, retired.Register(context.Background()))
	drain(t, NewConsumer(c, ConsumerOptions{Group: "new name", Stream: "logs:v1:shard:*"}), 100)
	c.ForceRetentionCleanup()
	require.Zero(t, c.GetStats().DeletedFiles)

	require.NoError(t, c.DeleteConsumerGroup("logs:v1:shard:*", "old name"))
	c.ForceRetentionCleanup()
	require.EqualValues(t, 3, c.GetStats().DeletedFiles)
	for _, g := range c.GetStats().Groups {
		require.Equal(t, "new name", g.Group)
	}
	require.Error(t, c.DeleteConsumerGroup("logs:v1", "x"), "the stream pattern is validated")
}

// deletedFilesHeldOpen lists files under dir this process keeps open
// although they were deleted.
func deletedFilesHeldOpen(t *testing.T, dir string) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	var held []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir) && strings.HasSuffix(target, " (deleted)") {
			held = append(held, target)
		}
	}
	return held
}

func TestConsumer_WaitingConsumerDoesNotPinDeletedSegments(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/fd")
	}
	cfg := retentionConfig()
	cfg.Retention.MaxTotalSize = 5000
	cfg.Retention.WhenFull = FullDropOldest
	dir := t.TempDir()
	c := openClient(t, dir, cfg)
	appendN(t, c, "logs:v1:shard:0000", 1, 100, 1)
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	msgs, err := cons.Read(context.Background(), nil, 1) // positioned in segment 0, then idle
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	appendN(t, c, "logs:v1:shard:0000", 200, 100, 1) // segment 0 is dropped
	require.Positive(t, c.GetStats().DeletedFiles)
	// Writer handles of just-rotated segments close in the background.
	eventually(t, 5*time.Second, func() bool { return len(deletedFilesHeldOpen(t, dir)) == 0 },
		"a deleted segment's space is freed while its consumer waits")

	got := drain(t, cons, 1000)
	require.Equal(t, payload(0, 199, 100), got[len(got)-1].Data, "the consumer resumes after the gap")
	require.Positive(t, c.GetStats().LostEntries)
}

func TestClient_ReadOnly_CheckpointsOffsetsInBackground(t *testing.T) {
	dir := t.TempDir()
	w := openClient(t, dir, testConfig())
	appendN(t, w, "logs:v1:shard:0000", 10, 10, 10)
	cfg := testConfig()
	cfg.Concurrency.ReadOnly = true
	cfg.Storage.CheckpointTime = 10
	r := openClient(t, dir, cfg)
	cons := NewConsumer(r, ConsumerOptions{Group: "reader", Stream: "logs:v1:shard:*"})
	drain(t, cons, 10)
	s := r.allShards()[0]
	g, _ := s.groups.get("reader", false, 0)
	eventually(t, 5*time.Second, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return !g.dirty
	}, "the reader's acknowledgements are fsynced without a Sync call")
}

func TestConsumer_StartLatest_ReadOnlySeesShardsCreatedSinceItOpened(t *testing.T) {
	dir := t.TempDir()
	w := openClient(t, dir, testConfig())
	cfg := testConfig()
	cfg.Concurrency.ReadOnly = true
	appendN(t, w, "logs:v1:shard:0000", 1, 10, 1)
	r := openClient(t, dir, cfg)
	appendN(t, w, "logs:v1:shard:0007", 5, 10, 5) // a shard the reader has not seen
	cons := NewConsumer(r, ConsumerOptions{Group: "late", Stream: "logs:v1:shard:*", Start: StartLatest})
	require.NoError(t, cons.Register(context.Background()))
	lag, err := cons.GetLag(context.Background(), 7)
	require.NoError(t, err)
	require.Zero(t, lag, "start at latest means after what the writer had written")
	require.Empty(t, drain(t, cons, 10))
}
