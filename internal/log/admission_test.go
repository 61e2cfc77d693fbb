// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// segmentBytes sums the sizes of the segment files under dir.
func segmentBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // deleted while walking
		}
		if strings.HasSuffix(path, ".comet") {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	require.NoError(t, err)
	return total
}

// Appends racing on many shards never take the records past the byte
// budget, whatever the full policy: each reserves its bytes before it
// writes.
func TestAdmission_ConcurrentAppendsNeverPassTheBudget(t *testing.T) {
	for _, policy := range []FullPolicy{FullDropOldest, FullReject} {
		t.Run(policy.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig()
			cfg.Storage.MaxFileSize = 16 << 10
			cfg.Retention.MaxTotalSize = 192 << 10
			cfg.Retention.WhenFull = policy
			c := openClient(t, dir, cfg)
			batch := make([][]byte, 10)
			for i := range batch {
				batch[i] = payload(0, i, 500)
			}
			var peak atomic.Int64
			var wg sync.WaitGroup
			for shard := range uint32(8) {
				wg.Go(func() {
					for range 150 {
						_, err := c.Append(context.Background(), ShardStreamName("ad", "v1", shard), batch)
						if err != nil && !errors.Is(err, ErrFull) {
							t.Error(err)
							return
						}
						if n := c.diskBytes.Load(); n > peak.Load() {
							peak.Store(n)
						}
					}
				})
			}
			wg.Wait()
			require.LessOrEqual(t, peak.Load(), cfg.Retention.MaxTotalSize, "records never pass the budget")
			require.LessOrEqual(t, segmentBytes(t, dir), cfg.Retention.MaxTotalSize, "segment files on disk within the budget")
		})
	}
}
