// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// backlogShape is a directory of sealed segments to open.
type backlogShape struct {
	shards, segmentsPerShard int
	segmentSize              int64
	entrySize, batch         int
}

// writeBacklog fills dir with shape's segments of incompressible entries
// and closes the client cleanly. It returns the bytes written.
func writeBacklog(tb testing.TB, dir string, shape backlogShape) int64 {
	tb.Helper()
	cfg := DefaultCometConfig()
	cfg.Compression.Codec = CodecNone
	cfg.Durability.Mode = SyncNone
	cfg.Storage.MaxFileSize = shape.segmentSize
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(tb, err)
	entry := make([]byte, shape.entrySize)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range entry {
		entry[i] = byte(rng.Uint32())
	}
	batch := make([][]byte, shape.batch)
	for i := range batch {
		batch[i] = entry
	}
	perShard := int64(shape.segmentsPerShard)*shape.segmentSize + shape.segmentSize/2
	batches := int(perShard / int64(shape.batch*(shape.entrySize+headerSize)))
	for s := range shape.shards {
		for range batches {
			_, err := c.Append(context.Background(), ShardStreamName("backlog", "v1", uint32(s)), batch)
			require.NoError(tb, err)
		}
	}
	st := c.GetStats()
	require.NoError(tb, c.Close())
	return st.DiskUsage
}

// readBytes is what this process has read through read(2) and pread(2)
// so far (rchar in /proc/self/io), page cache or not.
func readBytes(tb testing.TB) int64 {
	tb.Helper()
	f, err := os.Open("/proc/self/io")
	require.NoError(tb, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "rchar: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(tb, err)
			return n
		}
	}
	tb.Fatal("no rchar in /proc/self/io")
	return 0
}

// removeCheckpoints deletes the index of each shard's last segment, as a
// crash leaves no checkpoint.
func removeCheckpoints(tb testing.TB, dir string) {
	tb.Helper()
	shards, err := filepath.Glob(filepath.Join(dir, "*", "*", "shard-*"))
	require.NoError(tb, err)
	for _, sd := range shards {
		segs, err := filepath.Glob(filepath.Join(sd, "*"+segmentSuffix))
		require.NoError(tb, err)
		last := segs[len(segs)-1]
		err = os.Remove(last[:len(last)-len(segmentSuffix)] + indexSuffix)
		if !os.IsNotExist(err) {
			require.NoError(tb, err)
		}
	}
}

// TestOpen_ReadsNoSegmentData checks what opening a directory reads: a
// few small reads per segment after a clean Close, whatever the segments
// hold; the active segments in full when a crash left no checkpoint.
func TestOpen_ReadsNoSegmentData(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts reads in /proc/self/io")
	}
	dir := t.TempDir()
	shape := backlogShape{shards: 2, segmentsPerShard: 16, segmentSize: 256 << 10, entrySize: 2000, batch: 16}
	disk := writeBacklog(t, dir, shape)
	segments := int64(shape.shards * (shape.segmentsPerShard + 1))

	before := readBytes(t)
	c := openClient(t, dir, DefaultCometConfig())
	read := readBytes(t) - before
	require.EqualValues(t, segments, c.GetStats().SegmentCount)
	require.NoError(t, c.Close())
	t.Logf("clean open of %d segments (%d bytes) read %d bytes", segments, disk, read)
	require.Less(t, read, segments*4096, "a clean open reads an index and a header per segment, no records")

	removeCheckpoints(t, dir)
	before = readBytes(t)
	c = openClient(t, dir, DefaultCometConfig())
	read = readBytes(t) - before
	require.NoError(t, c.Close())
	t.Logf("open after a crash read %d bytes", read)
	require.Greater(t, read, int64(shape.shards)*shape.segmentSize/4, "after a crash the active segments are scanned")
	require.Less(t, read, int64(shape.shards)*shape.segmentSize+segments*4096, "and nothing else")
}

// dropPageCache writes back dirty pages and drops the page cache, so the
// next open reads from the device. It needs root.
func dropPageCache(tb testing.TB) {
	tb.Helper()
	if err := exec.Command("sync").Run(); err != nil {
		tb.Fatalf("sync: %v", err)
	}
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
		tb.Skipf("cannot drop the page cache (needs root on Linux): %v", err)
	}
}

// BenchmarkOpen opens a directory of 4 shards of 64 sealed segments of 4
// MiB (1 GiB of 8 KiB entries, 260 segments): "warm" from the page cache,
// "cold" after dropping it before each open (root only), "after_crash"
// without the checkpoints a clean Close writes (the active segments are
// scanned). An op is one NewClient and Close.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	shape := backlogShape{shards: 4, segmentsPerShard: 64, segmentSize: 4 << 20, entrySize: 8 << 10, batch: 16}
	disk := writeBacklog(b, dir, shape)
	open := func(b *testing.B) {
		c, err := NewClientWithConfig(dir, DefaultCometConfig())
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
	for _, mode := range []string{"warm", "cold", "after_crash"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			b.ReportMetric(float64(disk)/(1<<30), "GiB-on-disk")
			b.ReportMetric(float64(shape.shards*(shape.segmentsPerShard+1)), "segments")
			for range b.N {
				b.StopTimer()
				switch mode {
				case "cold":
					dropPageCache(b)
				case "after_crash":
					removeCheckpoints(b, dir)
				}
				b.StartTimer()
				open(b)
			}
		})
	}
}
