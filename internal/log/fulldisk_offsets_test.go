// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build linux

package log

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// On a full disk a consumer keeps reading and acknowledging: offsets that cannot be stored
// hold in memory, the failure is said once for the whole client (not per shard, not at every
// checkpoint), and once space is back the offsets reach their files.
func TestFullDisk_Tmpfs_OffsetsHoldInMemoryAndAreSaidOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "small-disk")
	require.NoError(t, os.Mkdir(dir, 0o700))
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("mounting a tmpfs needs root (%v)", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	cfg, logs := observedConfig(testConfig())
	cfg.Storage.CheckpointTime = 20 // ms
	c := openClient(t, filepath.Join(dir, "log"), cfg)
	streams := []string{"full:v1:shard:0000", "full:v1:shard:0001", "full:v1:shard:0002"}
	for _, s := range streams {
		appendN(t, c, s, 10, 1000, 1)
	}
	// Fill what is left.
	filler, err := os.Create(filepath.Join(dir, "filler"))
	require.NoError(t, err)
	for i := 0; ; i++ {
		if _, err := filler.Write(make([]byte, 4096)); err != nil {
			require.True(t, errors.Is(err, syscall.ENOSPC), "%v", err)
			break
		}
		require.Less(t, i, 1000, "the tmpfs never filled")
	}
	require.NoError(t, filler.Close())

	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "full:v1:shard:*"})
	got := drain(t, cons, 7)
	require.Len(t, got, 30, "reading and acknowledging go on on a full disk")
	time.Sleep(200 * time.Millisecond) // several checkpoints
	require.Equal(t, 1, logs.FilterMessageSnippet("Could not store a consumer offset").Len(), "said once for the client: %v", logs.All())
	require.Zero(t, logs.FilterMessageSnippet("Checkpointing consumer offsets failed").Len(), "not again at every checkpoint")
	for _, st := range c.GetStats().Groups {
		require.Zero(t, st.Lag, "the offset in memory is authoritative: %+v", st)
	}

	require.NoError(t, os.Remove(filler.Name()))
	eventually(t, 5*time.Second, func() bool {
		return logs.FilterMessageSnippet("Consumer offsets are stored again").Len() == 1
	}, "the checkpoint stores the offsets once space is back")
	require.NoError(t, c.Close())
	c = openClient(t, filepath.Join(dir, "log"), cfg)
	require.Empty(t, drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "full:v1:shard:*"}), 7),
		"the stored offsets survive a restart: nothing is delivered again")
}
