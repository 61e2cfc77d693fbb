// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fileState is what a read-only operation must not change in a file.
type fileState struct {
	sum   [32]byte
	size  int64
	mtime time.Time
	mode  fs.FileMode
}

// snapshotDir records every file and directory under dir.
func snapshotDir(t testing.TB, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := fileState{size: info.Size(), mtime: info.ModTime(), mode: info.Mode()}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			st.sum = sha256.Sum256(b)
		} else {
			st.size = 0 // a directory's size is the file system's business
		}
		out[path] = st
		return nil
	}))
	return out
}

func readOnlyConfig() CometConfig {
	cfg := testConfig()
	cfg.Concurrency.ReadOnly = true
	return cfg
}

func TestClient_ScanRecords_ReturnsAppendTimesAndLocations(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 4096
	c := openClient(t, dir, cfg)
	ctx := context.Background()
	const stream = "sr:v1:shard:0001"
	type window struct{ from, to time.Time }
	var windows []window
	var want [][]byte
	for i := range 30 {
		before := time.Now()
		batch := [][]byte{payload(1, 2*i, 100+i), payload(1, 2*i+1, 300)}
		_, err := c.Append(ctx, stream, batch)
		require.NoError(t, err)
		windows = append(windows, window{before, time.Now()}, window{before, time.Now()})
		want = append(want, batch...)
	}
	var scanned []Location
	require.NoError(t, c.Scan(ctx, stream, 0, func(loc Location, _ []byte) error {
		scanned = append(scanned, loc)
		return nil
	}))
	var got []Record
	require.NoError(t, c.ScanRecords(ctx, stream, 0, func(r Record) error {
		got = append(got, r)
		return nil
	}))
	require.Len(t, got, len(want))
	for i, r := range got {
		require.Equal(t, want[i], r.Data)
		require.Equal(t, scanned[i], r.Location, "ScanRecords and Scan agree on locations")
		w := windows[i]
		require.False(t, r.Time.Before(w.from.Truncate(0)) || r.Time.After(w.to), "entry %d appended at %s, outside [%s, %s]", i, r.Time, w.from, w.to)
	}
	require.Equal(t, got[0].Time, got[1].Time, "one append, one time")

	var from []Record
	require.NoError(t, c.ScanRecords(ctx, stream, 41, func(r Record) error {
		from = append(from, r)
		return nil
	}))
	require.Equal(t, got[41:], from)

	stop := errors.New("stop")
	n := 0
	require.ErrorIs(t, c.ScanRecords(ctx, stream, 0, func(Record) error {
		n++
		if n == 5 {
			return stop
		}
		return nil
	}), stop)
	require.Equal(t, 5, n)
	require.NoError(t, c.ScanRecords(ctx, "sr:v1:shard:0009", 0, func(Record) error {
		t.Fatal("a stream that does not exist has no records")
		return nil
	}))
}

func TestRecordsPerRead_BoundsBytesPerRead(t *testing.T) {
	require.Equal(t, 16, recordsPerRead(0), "unknown size: a few records")
	require.Equal(t, 1, recordsPerRead(4<<20), "records larger than the budget: one at a time")
	require.Equal(t, 8, recordsPerRead(128<<10))
	require.Equal(t, scanBatch, recordsPerRead(20))
}

func TestClient_GroupPositions_ReportsEveryGroupAndDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	c := openClient(t, dir, testConfig())
	ctx := context.Background()
	for shard := range uint32(3) {
		appendN(t, c, ShardStreamName("gp", "v1", shard), 20, 50, 5)
	}
	a := NewConsumer(c, ConsumerOptions{Group: "alpha", Stream: "gp:v1:shard:*"})
	require.NoError(t, a.Register(ctx))
	require.NoError(t, a.AckRange(ctx, 1, 0, 6))
	b := NewConsumer(c, ConsumerOptions{Group: "beta", Stream: "gp:v1:shard:0002"})
	require.NoError(t, b.ResetOffset(ctx, 2, 11))
	require.NoError(t, c.Close())

	damaged := filepath.Join(dir, "gp", "v1", "shard-0000", "groups", groupFileName("alpha"))
	require.NoError(t, os.WriteFile(damaged, []byte("not an offset file"), 0o600))

	ro := openClient(t, dir, readOnlyConfig())
	got, err := ro.GroupPositions("gp:v1:shard:*")
	require.NoError(t, err)
	require.Len(t, got, 4)
	require.Equal(t, "gp:v1:shard:0000", got[0].Stream)
	require.Empty(t, got[0].Group)
	require.Equal(t, damaged, got[0].File)
	require.ErrorIs(t, got[0].Err, errBadOffsetFile)
	require.Equal(t, GroupPosition{Stream: "gp:v1:shard:0001", Group: "alpha", Offset: 7,
		File: filepath.Join(dir, "gp", "v1", "shard-0001", "groups", groupFileName("alpha"))}, got[1])
	require.Equal(t, "alpha", got[2].Group)
	require.EqualValues(t, 0, got[2].Offset)
	require.Equal(t, "beta", got[3].Group)
	require.EqualValues(t, 11, got[3].Offset)

	one, err := ro.GroupPositions("gp:v1:shard:0002")
	require.NoError(t, err)
	require.Equal(t, got[2:], one)
	_, err = ro.GroupPositions("bad name")
	require.ErrorIs(t, err, ErrInvalidStream)
}

func TestClient_Streams_ListsWhatIsOnDisk(t *testing.T) {
	dir := t.TempDir()
	c := openClient(t, dir, testConfig())
	appendN(t, c, "b:v1:shard:0001", 1, 10, 1)
	appendN(t, c, "a:v2:shard:0000", 1, 10, 1)
	ro := openClient(t, dir, readOnlyConfig())
	appendN(t, c, "a:v2:shard:0010", 1, 10, 1)
	names, err := ro.Streams()
	require.NoError(t, err)
	require.Equal(t, []string{"a:v2:shard:0000", "a:v2:shard:0010", "b:v1:shard:0001"}, names,
		"a read-only client finds streams created after it opened")
	onDisk, err := StreamsOnDisk(dir)
	require.NoError(t, err)
	require.Equal(t, names, onDisk)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "not a namespace", "v1", "shard-0001"), 0o700))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "c", "v1", "shard-x"), 0o700))
	onDisk, err = StreamsOnDisk(dir)
	require.NoError(t, err)
	require.Equal(t, names, onDisk, "directories that are not the engine's are ignored")
}

// damagedDirectory writes a log with sealed segments, indexes and
// consumer groups, then damages it every way recovery knows: a flipped
// bit in a sealed segment, a torn tail, a corrupt index, a missing index,
// a damaged offset file and a leftover temporary file.
func damagedDirectory(t testing.TB) string {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 2048
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	ctx := context.Background()
	for shard := range uint32(2) {
		appendN(t, c, ShardStreamName("dd", "v1", shard), 120, 90, 3)
	}
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "dd:v1:shard:*"})
	require.NoError(t, cons.AckRange(ctx, 0, 0, 40))
	require.NoError(t, cons.AckRange(ctx, 1, 0, 10))
	require.NoError(t, c.Close())

	shard0 := filepath.Join(dir, "dd", "v1", "shard-0000")
	flipByte(t, filepath.Join(shard0, segmentFileName(0)), headerSize+5)
	appendBytes(t, filepath.Join(shard0, lastSegment(t, shard0)), []byte{1, 2, 3, 4, 5, 6, 7})
	flipByte(t, filepath.Join(shard0, indexFileName(segmentBases(t, shard0)[1])), indexHeaderSize+8)
	require.NoError(t, os.Remove(filepath.Join(shard0, indexFileName(segmentBases(t, shard0)[2]))))
	flipByte(t, filepath.Join(dir, "dd", "v1", "shard-0001", "groups", groupFileName("g")), 13)
	require.NoError(t, os.WriteFile(filepath.Join(shard0, "log-0000000000000099.index.tmp"), []byte("x"), 0o600))
	return dir
}

func TestReadOnlyClient_InspectionWritesNothing(t *testing.T) {
	dir := damagedDirectory(t)
	before := snapshotDir(t, dir)

	c, err := NewClientWithConfig(dir, readOnlyConfig())
	require.NoError(t, err)
	ctx := context.Background()
	streams, err := c.Streams()
	require.NoError(t, err)
	require.Len(t, streams, 2)
	for _, s := range streams {
		_, err := c.Segments(s)
		require.NoError(t, err)
		_, err = c.Len(ctx, s)
		require.NoError(t, err)
		require.NoError(t, c.ScanRecords(ctx, s, 0, func(Record) error { return nil }))
	}
	_, err = c.GroupPositions("dd:v1:shard:*")
	require.NoError(t, err)
	_ = c.GetStats()
	time.Sleep(3 * time.Duration(c.cfg.Storage.CheckpointTime) * time.Millisecond / 2) // a checkpoint passes
	require.NoError(t, c.Close())

	require.Equal(t, before, snapshotDir(t, dir), "a read-only client that does not consume changes no byte, size or mtime")
}

func flipByte(t testing.TB, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off)
	require.NoError(t, err)
	b[0] ^= 0x40
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
}

func appendBytes(t testing.TB, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// segmentBases lists the segment bases of a shard directory.
func segmentBases(t testing.TB, dir string) []int64 {
	t.Helper()
	files, err := listShardFiles(dir)
	require.NoError(t, err)
	return files.segments
}

func lastSegment(t testing.TB, dir string) string {
	bases := segmentBases(t, dir)
	require.NotEmpty(t, bases)
	return segmentFileName(bases[len(bases)-1])
}
