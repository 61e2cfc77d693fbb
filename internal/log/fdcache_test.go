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

	"github.com/stretchr/testify/require"
)

// openFilesUnder counts this process's descriptors on files under dir.
func openFilesUnder(t *testing.T, dir string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, dir) {
			n++
		}
	}
	return n
}

func TestFileCache_KeepsDescriptorsOpenWithinABound(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/fd")
	}
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 200 // one 120-byte record per segment
	c := openClient(t, dir, cfg)
	var locs []Location
	for i := range 3 * maxOpenFiles {
		l, err := c.AppendLocated(context.Background(), "kv:v1:shard:0000", [][]byte{payload(0, i, 100)})
		require.NoError(t, err)
		locs = append(locs, l...)
	}
	for round := range 2 {
		for i, loc := range locs {
			data, err := c.ReadAt(context.Background(), "kv:v1:shard:0000", loc)
			require.NoError(t, err)
			require.Equal(t, payload(0, i, 100), data, "round %d", round)
		}
	}
	// The writer's active segment and at most maxOpenFiles read descriptors.
	require.LessOrEqual(t, openFilesUnder(t, dir), maxOpenFiles+2)
	require.NoError(t, c.Close())
	require.Zero(t, openFilesUnder(t, dir), "Close closes every descriptor")
}
