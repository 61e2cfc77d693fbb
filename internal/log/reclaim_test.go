// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// segmentFiles counts the segment files of shard id of "rc:v1".
func segmentFiles(t *testing.T, dir string, id uint32) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "rc", "v1", fmt.Sprintf("shard-%04d", id), "log-*.comet"))
	require.NoError(t, err)
	return len(m)
}

// writeSegments appends n entries of 100 B to shards 0 and 1 of "rc:v1"
// in small segments, with the writer's policy deleteConsumed, and closes.
func writeSegments(t *testing.T, dir string, n int, deleteConsumed bool) {
	t.Helper()
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 4 << 10
	cfg.Retention.DeleteConsumed = deleteConsumed
	w, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	for i := range n {
		_, err := w.Append(context.Background(), ShardStreamName("rc", "v1", uint32(i%2)), [][]byte{payload(uint32(i%2), i, 100)})
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
}

func readerConfig() CometConfig {
	cfg := testConfig()
	cfg.Concurrency.ReadOnly = true
	cfg.Retention.CleanupInterval = 20 * time.Millisecond
	return cfg
}

// A collector that only reads, with no writer running, deletes the
// segments every group has acknowledged, as the writer would; a group
// that is behind keeps its part.
func TestReclaim_ReaderWithoutWriterDeletesConsumedSegments(t *testing.T) {
	dir := t.TempDir()
	writeSegments(t, dir, 2000, true)
	before := segmentFiles(t, dir, 0)
	require.Greater(t, before, 10)

	r := openClient(t, dir, readerConfig())
	slow := NewConsumer(r, ConsumerOptions{Group: "slow", Stream: "rc:v1:shard:0001"})
	defer slow.Close()
	require.NoError(t, slow.AckRange(context.Background(), 1, 0, 99))
	drain(t, NewConsumer(r, ConsumerOptions{Group: "drain", Stream: "rc:v1:shard:*"}), 100)

	eventually(t, 5*time.Second, func() bool { return segmentFiles(t, dir, 0) == 1 }, "shard 0's consumed segments deleted")
	time.Sleep(100 * time.Millisecond)
	kept := segmentFiles(t, dir, 1)
	require.Greater(t, kept, before-5, "shard 1 keeps what group slow has not acknowledged")
	msgs, err := slow.Read(context.Background(), []uint32{1}, 1)
	require.NoError(t, err)
	require.Equal(t, int64(100), msgs[0].ID.EntryNumber, "the slow group's next entry is still there")
}

// A writer that keeps consumed data (delete_consumed off) keeps it with
// only readers running too.
func TestReclaim_ReaderKeepsWhatTheWritersPolicyKeeps(t *testing.T) {
	dir := t.TempDir()
	writeSegments(t, dir, 1000, false)
	before := segmentFiles(t, dir, 0)
	r := openClient(t, dir, readerConfig())
	drain(t, NewConsumer(r, ConsumerOptions{Group: "drain", Stream: "rc:v1:shard:*"}), 100)
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, before, segmentFiles(t, dir, 0))
}

// While a writer runs, readers leave reclaiming to it; a writer that
// starts while a reader holds the lock to reclaim waits for it.
func TestReclaim_WriterAndReaderTakeTurnsOnTheLock(t *testing.T) {
	dir := t.TempDir()
	writeSegments(t, dir, 10, true)
	w := openClient(t, dir, testConfig())
	l, err := tryDirLock(dir)
	require.NoError(t, err)
	require.Nil(t, l, "a running writer holds the lock: readers do not reclaim")
	require.NoError(t, w.Close())

	l, err = tryDirLock(dir)
	require.NoError(t, err)
	require.NotNil(t, l)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = l.release()
	}()
	w, err = NewClientWithConfig(dir, testConfig())
	require.NoError(t, err, "the writer waited for the reclaiming reader")
	require.NoError(t, w.Close())
}
