// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchInspectDir writes n entries of size bytes to 4 shards in 8 MiB
// segments (the exporter's default) and returns the directory and the
// bytes of its segment files.
func benchInspectDir(b *testing.B, n, size int, codec Codec) (string, int64) {
	dir := b.TempDir()
	cfg := DefaultCometConfig()
	cfg.Durability.Mode = SyncNone
	cfg.Storage.MaxFileSize = 8 << 20
	cfg.Compression = CompressionConfig{Codec: codec, MinCompressSize: 4096}
	c, err := NewClientWithConfig(dir, cfg)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	words := make([]string, 256)
	for i := range words {
		words[i] = fmt.Sprintf("w%x%d ", r.Uint64(), i) // log-like text: zstd saves about half
	}
	for shard := range uint32(4) {
		for range n / 4 {
			entry := make([]byte, 0, size+32)
			for len(entry) < size {
				entry = append(entry, words[r.IntN(len(words))]...)
			}
			entry = entry[:size]
			if _, err := c.Append(context.Background(), ShardStreamName("bench", "v1", shard), [][]byte{entry}); err != nil {
				b.Fatal(err)
			}
		}
	}
	bytes := c.GetStats().DiskUsage
	if err := c.Close(); err != nil {
		b.Fatal(err)
	}
	return dir, bytes
}

// BenchmarkVerifyDirectory checks a directory of 64 MiB of entries in 4
// shards, stored raw or zstd-compressed (every compressed payload is
// decompressed): MB/s are segment bytes verified per second.
func BenchmarkVerifyDirectory(b *testing.B) {
	for _, tc := range []struct {
		name  string
		size  int
		codec Codec
	}{{"size=1000/raw", 1000, CodecNone}, {"size=16000/raw", 16000, CodecNone}, {"size=16000/zstd", 16000, CodecZstd}} {
		b.Run(tc.name, func(b *testing.B) {
			dir, bytes := benchInspectDir(b, (64<<20)/tc.size, tc.size, tc.codec)
			b.SetBytes(bytes)
			b.ReportAllocs()
			var records int64
			for b.Loop() {
				sum, err := VerifyDirectory(context.Background(), dir, VerifyOptions{})
				if err != nil || sum.Damage != 0 {
					b.Fatalf("%v %+v", err, sum)
				}
				records += sum.Records
			}
			reportEntries(b, records)
		})
	}
}

// BenchmarkScanRecords reads one 16 MiB shard of 1000-byte entries
// through a ReadOnly client: MB/s are entry bytes per second.
func BenchmarkScanRecords(b *testing.B) {
	const n, size = 4 * 16 << 10, 1000
	dir, _ := benchInspectDir(b, n, size, CodecNone)
	cfg := DefaultCometConfig()
	cfg.Concurrency.ReadOnly = true
	c, err := NewClientWithConfig(dir, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.SetBytes(n / 4 * size)
	b.ReportAllocs()
	var entries int64
	for b.Loop() {
		if err := c.ScanRecords(context.Background(), "bench:v1:shard:0000", 0, func(Record) error {
			entries++
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	reportEntries(b, entries)
}
