// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build linux

package log

import (
	"context"
	cryptorand "crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/comet-otel/comet/internal/testfs"
)

// On a full disk a consumer keeps reading and acknowledging: offsets that cannot be stored
// hold in memory, the failure is said once for the whole client (not per shard, not at every
// checkpoint), and once space is back the offsets reach their files.
func TestFullDisk_Tmpfs_OffsetsHoldInMemoryAndAreSaidOnce(t *testing.T) {
	dir := testfs.Tmpfs(t, "256k", "")
	cfg, logs := observedConfig(testConfig())
	cfg.Storage.CheckpointTime = 20 // ms
	c := openClient(t, filepath.Join(dir, "log"), cfg)
	streams := []string{"full:v1:shard:0000", "full:v1:shard:0001", "full:v1:shard:0002"}
	for _, s := range streams {
		appendN(t, c, s, 10, 1000, 1)
	}
	filler := testfs.Fill(t, dir) // what is left

	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "full:v1:shard:*"})
	got := drain(t, cons, 7)
	require.Len(t, got, 30, "reading and acknowledging go on on a full disk")
	time.Sleep(200 * time.Millisecond) // several checkpoints
	require.Equal(t, 1, logs.FilterMessageSnippet("Could not store a consumer offset").Len(), "said once for the client: %v", logs.All())
	require.Zero(t, logs.FilterMessageSnippet("Checkpointing consumer offsets failed").Len(), "not again at every checkpoint")
	for _, st := range c.GetStats().Groups {
		require.Zero(t, st.Lag, "the offset in memory is authoritative: %+v", st)
	}

	require.NoError(t, os.Remove(filler))
	eventually(t, offsetsSettle+5*time.Second, func() bool {
		return logs.FilterMessageSnippet("Consumer offsets are stored again").Len() == 1
	}, "the checkpoint stores the offsets once space is back, and says so once they stayed stored")
	require.NoError(t, c.Close())
	c = openClient(t, filepath.Join(dir, "log"), cfg)
	require.Empty(t, drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "full:v1:shard:*"}), 7),
		"the stored offsets survive a restart: nothing is delivered again")
}

// A log that is full of data its consumers have already acknowledged frees space as soon as an
// append finds the disk full, not at the next cleanup interval: here after a restart, with
// nothing left to deliver (so no acknowledgement kicks retention).
func TestFullDisk_Tmpfs_FullOfConsumedDataFreesSpaceOnTheFailedAppend(t *testing.T) {
	dir := testfs.Tmpfs(t, "1m", "")
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 8 << 20 // everything stays in the active segments
	cfg.Retention.DeleteConsumed = true
	cfg.Retention.CleanupInterval = time.Hour
	logDir := filepath.Join(dir, "log")
	c, err := NewClientWithConfig(logDir, cfg)
	require.NoError(t, err)
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "full:v1:shard:*"})
	for shard := range 2 { // the group's offset files exist before the disk fills
		_, err := c.Append(context.Background(), streamOf(shard), [][]byte{payload(0, shard, 1000)})
		require.NoError(t, err)
	}
	require.Len(t, drain(t, cons, 50), 2)
	for i := 0; ; i++ {
		require.Less(t, i, 10_000, "the tmpfs never filled")
		if _, err := c.Append(context.Background(), streamOf(i%2), [][]byte{payload(0, i, 1000)}); err != nil {
			require.ErrorIs(t, err, ErrNoSpace)
			break
		}
	}
	require.NotEmpty(t, drain(t, cons, 50))
	require.NoError(t, c.Close())

	c = openClient(t, logDir, cfg)
	big := [][]byte{make([]byte, 200_000)}
	_, _ = cryptorand.Read(big[0]) // incompressible
	_, err = c.Append(context.Background(), streamOf(0), big)
	require.ErrorIs(t, err, ErrNoSpace, "the disk is still full of consumed data")
	eventually(t, 5*time.Second, func() bool {
		_, err := c.Append(context.Background(), streamOf(0), big)
		return err == nil
	}, "the consumed data was not deleted after an append found the disk full")
}

func streamOf(shard int) string { return fmt.Sprintf("full:v1:shard:%04d", shard) }

// Closing on a full disk with offsets that could not be stored succeeds and says so: the
// groups receive those entries again after the restart (at least once), nothing is skipped.
func TestFullDisk_Tmpfs_CloseWithUnstoredOffsetsRedeliversAfterRestart(t *testing.T) {
	dir := testfs.Tmpfs(t, "256k", "")
	cfg, logs := observedConfig(testConfig())
	logDir := filepath.Join(dir, "log")
	c, err := NewClientWithConfig(logDir, cfg)
	require.NoError(t, err)
	appendN(t, c, streamOf(0), 20, 1000, 1)
	filler := testfs.Fill(t, dir)
	require.Len(t, drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "full:v1:shard:*"}), 7), 20)
	require.NoError(t, c.Close(), "unstored offsets cost redelivery, not a failed close")
	require.Equal(t, 1, logs.FilterMessageSnippet("Closing with consumer offsets that could not be stored").Len())

	require.NoError(t, os.Remove(filler))
	c = openClient(t, logDir, cfg)
	require.Len(t, drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "full:v1:shard:*"}), 7), 20,
		"the entries whose acknowledgements were not stored are delivered again")
}
