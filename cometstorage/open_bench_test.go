// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
)

// BenchmarkOpenStore opens a store holding a queue backlog of 2048 values
// of 128 KiB (256 MiB, 16 segments) from the page cache: "snapshot"
// reads the key directory snapshot a clean Close wrote, "full_read"
// reads every record of the log (no snapshot, as after a crash before
// the first one). An op is one open and Close.
//
//	go test ./cometstorage -run '^$' -bench OpenStore -benchtime 10x
func BenchmarkOpenStore(b *testing.B) {
	dir := b.TempDir()
	set := clientSettings{
		logger: zap.NewNop(), sync: SyncConfig{Mode: SyncNone}, segmentSize: 16 << 20,
		compaction: CompactionConfig{Ratio: 0.5, CheckInterval: 1 << 62}, dirMode: 0o700,
	}
	ctx := context.Background()
	c, err := openClient(ctx, dir, set)
	if err != nil {
		b.Fatal(err)
	}
	value := bytes.Repeat([]byte("queued request "), 128<<10/15)
	for i := range 2048 {
		if err := c.Set(ctx, fmt.Sprint(i), value); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.Close(ctx); err != nil {
		b.Fatal(err)
	}
	snapshot, err := os.ReadFile(filepath.Join(dir, snapshotFileName))
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"snapshot", "full_read"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(2048 * int64(len(value)))
			for range b.N {
				b.StopTimer()
				var err error
				if mode == "full_read" {
					err = os.Remove(filepath.Join(dir, snapshotFileName))
				} else {
					err = os.WriteFile(filepath.Join(dir, snapshotFileName), snapshot, 0o600)
				}
				if err != nil && !os.IsNotExist(err) {
					b.Fatal(err)
				}
				b.StartTimer()
				c, err := openClient(ctx, dir, set)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
