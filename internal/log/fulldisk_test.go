// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build linux

package log

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/comet-otel/comet/internal/testfs"
)

func init() {
	childRoles["fsize"] = runFileSizeLimitedChild
}

// runFileSizeLimitedChild appends under RLIMIT_FSIZE until writes fail
// (the disk is "full" for this process), printing every acknowledged
// entry, then the error, then tries again to check nothing breaks.
func runFileSizeLimitedChild() error {
	limit := &syscall.Rlimit{Cur: 100 << 10, Max: 100 << 10}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, limit); err != nil {
		return err
	}
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 1 << 20
	c, err := NewClientWithConfig(os.Getenv("COMET_DIR"), cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	for i := 0; ; i++ {
		batch := [][]byte{payload(0, i, 700), payload(0, -i, 300)}
		ids, err := c.Append(context.Background(), "full:v1:shard:0000", batch)
		if err != nil {
			fmt.Printf("error %v\n", err)
			_, err2 := c.Append(context.Background(), "full:v1:shard:0000", batch)
			fmt.Printf("again %v\n", err2)
			return nil
		}
		fmt.Printf("acked %d %d\n", ids[0].EntryNumber, i)
	}
}

func TestFullDisk_FileSizeLimit_ErrorIsClearAndNothingAcceptedIsLost(t *testing.T) {
	dir := t.TempDir()
	out, err := childCommand("fsize", "COMET_DIR="+dir).Output()
	require.NoError(t, err, "the child handles the full disk without crashing")
	acked := map[int64]int{}
	var failure, again string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "acked "):
			var e int64
			var i int
			_, err := fmt.Sscanf(line, "acked %d %d", &e, &i)
			require.NoError(t, err)
			acked[e] = i
		case strings.HasPrefix(line, "error "):
			failure = line
		case strings.HasPrefix(line, "again "):
			again = line
		}
	}
	require.NotEmpty(t, acked)
	require.Contains(t, failure, "file too large")
	require.Contains(t, failure, "log-0000000000000000.comet", "the error names the file")
	require.Contains(t, again, "file too large", "a later append fails the same way, it does not corrupt")

	c := openClient(t, dir, testConfig())
	n, err := c.Len(context.Background(), "full:v1:shard:0000")
	require.NoError(t, err)
	require.EqualValues(t, 2*len(acked), n, "exactly the acknowledged batches are in the log")
	got := drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "full:v1:shard:*"}), 100)
	require.Len(t, got, int(n))
	for e, i := range acked {
		require.Equal(t, payload(0, i, 700), got[e].Data)
		require.Equal(t, payload(0, -i, 300), got[e+1].Data)
	}
	st := c.GetStats()
	require.Zero(t, st.Truncations, "the failed write was undone at once: nothing to repair")
	require.Zero(t, st.CorruptEntries)
}

func TestFullDisk_Tmpfs_ENOSPCThenRecoversWhenSpaceIsFreed(t *testing.T) {
	dir := testfs.Tmpfs(t, "256k", "TestFullDisk_FileSizeLimit covers the same path")
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 32 << 10
	cfg.Retention.DeleteConsumed = true
	cfg.Retention.CleanupInterval = time.Hour
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	defer c.Close()
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "full:v1:shard:*"})
	ctx := context.Background()
	var acked int
	for i := 0; ; i++ {
		_, err := c.Append(ctx, "full:v1:shard:0000", [][]byte{payload(0, i, 1000)})
		if err != nil {
			require.True(t, errors.Is(err, syscall.ENOSPC), "%v", err)
			require.ErrorIs(t, err, ErrNoSpace, "a full disk is named as such, for callers to treat as back-pressure")
			break
		}
		acked++
		require.Less(t, i, 10_000, "the tmpfs never filled")
	}
	got := drain(t, cons, 50)
	require.Len(t, got, acked, "everything accepted before the disk filled is readable")
	for i, m := range got {
		require.Equal(t, payload(0, i, 1000), m.Data)
	}
	c.ForceRetentionCleanup()
	_, err = c.Append(ctx, "full:v1:shard:0000", [][]byte{[]byte("space again")})
	require.NoError(t, err, "appends work again once consumed segments are deleted")
	got = drain(t, cons, 50)
	require.Len(t, got, 1)
	require.EqualValues(t, acked, got[0].ID.EntryNumber)
}
