// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
)

// Golden fixtures are data directories written by a released on-disk
// format and committed under testdata/golden/. Every later release must
// read them to exactly the contents listed in this file, without
// migrating them. A fixture is generated once, by the release whose
// format it records:
//
//	go test ./internal/log -run TestGolden_Generate -golden.generate testdata/golden/format1
//
// The generator refuses to write into an existing directory: never
// regenerate a committed fixture (that would replace the old format's
// bytes with the new one's); a new format gets a new directory and a new
// expectation table beside the old ones.
var goldenGenerate = flag.String("golden.generate", "", "write a golden fixture data directory at this path (it must not exist)")

const (
	goldenTraces = "traces:v1:shard:0000"
	goldenLogs   = "logs:v1:shard:0003"
	// goldenOddGroup is a group name with a NUL byte and a multi-byte
	// character: group names are any bytes.
	goldenOddGroup = "g\x00✓"
)

// goldenEntries is how many entries each fixture stream holds.
var goldenEntries = map[string]int{goldenTraces: 90, goldenLogs: 12}

// goldenEntry is entry i of a fixture stream: every seventh one is large
// and compressible (stored as a zstd frame), some are empty, some start
// with the zstd magic bytes but are stored raw, the rest are text padded
// with bytes that do not compress.
func goldenEntry(stream string, i int) []byte {
	switch i % 7 {
	case 0:
		return bytes.Repeat(fmt.Appendf(nil, "%s compressible entry %d; ", stream, i), 20)
	case 3:
		return []byte{}
	case 5:
		return append([]byte{0x28, 0xb5, 0x2f, 0xfd}, fmt.Appendf(nil, "raw entry %d that starts with the zstd magic", i)...)
	}
	e := fmt.Appendf(nil, "%s entry %d|", stream, i)
	x := uint32(i)*2654435761 + 1
	for len(e) < 20+(i*37)%300 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		e = append(e, byte(x))
	}
	return e
}

// goldenBatches is the batch sizes the generator appended a stream's
// entries in, cycling; the 30 is larger than a segment, so it got a
// segment of its own.
var goldenBatches = []int{1, 2, 3, 5, 8, 30, 4}

// goldenConfig is the configuration the generator wrote with: small
// segments so a stream spans several, an index point every 4 entries, at
// most 4 points per segment (so some indexes were thinned).
func goldenConfig() CometConfig {
	cfg := DefaultCometConfig()
	cfg.Storage.MaxFileSize = 4096
	cfg.Indexing.BoundaryInterval = 4
	cfg.Indexing.MaxIndexEntries = 4
	cfg.Compression = CompressionConfig{Codec: CodecZstd, MinCompressSize: 256}
	cfg.Durability.Mode = SyncNone
	return cfg
}

// goldenGroup is a consumer group's offset in a fixture.
type goldenGroup struct {
	stream string
	group  string
	offset int64
}

// goldenGroups are the groups the generator left, with their offsets.
var goldenGroups = []goldenGroup{
	{goldenTraces, "receiver/comet", 41},
	{goldenTraces, "replay", 17},
	{goldenTraces, goldenOddGroup, 90},
	{goldenLogs, "receiver/comet", 5},
}

// TestGolden_Generate writes a fixture when -golden.generate names a
// directory; otherwise it does nothing.
func TestGolden_Generate(t *testing.T) {
	out := *goldenGenerate
	if out == "" {
		t.Skip("generates a golden fixture only with -golden.generate <new directory>")
	}
	_, err := os.Stat(out)
	require.ErrorIs(t, err, fs.ErrNotExist, "refusing to overwrite a golden fixture")
	ctx := context.Background()
	c, err := NewClientWithConfig(out, goldenConfig())
	require.NoError(t, err)
	for stream, n := range goldenEntries {
		for i, b := 0, 0; i < n; b++ {
			size := min(goldenBatches[b%len(goldenBatches)], n-i)
			batch := make([][]byte, size)
			for j := range batch {
				batch[j] = goldenEntry(stream, i+j)
			}
			_, err := c.Append(ctx, stream, batch)
			require.NoError(t, err)
			i += size
		}
	}
	for _, g := range goldenGroups {
		nk, id, err := parsePattern(g.stream)
		require.NoError(t, err)
		cons := NewConsumer(c, ConsumerOptions{Group: g.group, Stream: ShardStreamName(nk.ns, nk.ver, *id)})
		require.NoError(t, cons.ResetOffset(ctx, *id, g.offset))
		require.NoError(t, cons.Close())
	}
	require.NoError(t, c.Close())
	// The lock file holds the generator's PID: not part of the data.
	require.NoError(t, os.Remove(filepath.Join(out, lockFileName)))
}

// goldenSegment is a segment's expected description.
type goldenSegment struct {
	first, end, bytes int64
	sealed            bool
}

// goldenFormat1Segments is how the format-1 fixture's streams are laid
// out in segments.
var goldenFormat1Segments = map[string][]goldenSegment{
	goldenTraces: {
		{first: 0, end: 19, bytes: 2611, sealed: true},
		{first: 19, end: 49, bytes: 4168, sealed: true}, // the batch of 30: a segment of its own
		{first: 49, end: 72, bytes: 2780, sealed: true},
		{first: 72, end: 90, bytes: 2616, sealed: false},
	},
	goldenLogs: {
		{first: 0, end: 12, bytes: 1476, sealed: false},
	},
}

// copyTree copies a fixture into a fresh directory, so tests can open it
// as a writer (which creates a lock file) without touching testdata.
func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	require.NoError(t, filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	}))
	return dst
}

// treeHashes maps each file under dir whose name has one of the given
// suffixes to the SHA-256 of its content.
func treeHashes(t testing.TB, dir string, suffixes ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, s := range suffixes {
			if strings.HasSuffix(path, s) {
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(b)
				rel, _ := filepath.Rel(dir, path)
				out[rel] = hex.EncodeToString(sum[:])
			}
		}
		return nil
	}))
	return out
}

const goldenFormat1 = "testdata/golden/format1"

// TestGolden_Format1_ReadsExactContents opens the format-1 fixture as a
// writer with today's defaults (not the generator's configuration) and
// checks every entry, segment, group offset and time lookup, that
// nothing needed repair, and that no segment or index byte changed.
func TestGolden_Format1_ReadsExactContents(t *testing.T) {
	dir := copyTree(t, goldenFormat1)
	before := treeHashes(t, dir, segmentSuffix, indexSuffix)
	require.NotEmpty(t, before)
	cfg, logs := observedConfig(DefaultCometConfig())
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	ctx := context.Background()
	require.Empty(t, logs.FilterLevelExact(zapcore.WarnLevel).All(), "opening a format-1 directory must need no repair")

	for stream, n := range goldenEntries {
		got, err := c.Len(ctx, stream)
		require.NoError(t, err)
		require.EqualValues(t, n, got, stream)
		checkGoldenSegments(t, c, stream)
		checkGoldenScan(t, c, stream)
		checkGoldenSeek(t, c, stream)
	}
	checkGoldenGroups(t, c)
	require.EqualValues(t, 0, c.GetStats().CorruptEntries)
	require.NoError(t, c.Close())
	requireUnchanged(t, before, treeHashes(t, dir, segmentSuffix, indexSuffix))
}

// requireUnchanged checks that every file of before still has its
// content. New files (the checkpoints of active segments) may appear.
func requireUnchanged(t *testing.T, before, after map[string]string) {
	t.Helper()
	for name, sum := range before {
		require.Equal(t, sum, after[name], "%s must not be rewritten", name)
	}
}

// checkGoldenSegments compares the stream's segments with the table.
func checkGoldenSegments(t *testing.T, c *Client, stream string) {
	t.Helper()
	infos, err := c.Segments(stream)
	require.NoError(t, err)
	want := goldenFormat1Segments[stream]
	got := make([]goldenSegment, len(infos))
	for i, in := range infos {
		got[i] = goldenSegment{first: in.FirstEntry, end: in.EndEntry, bytes: in.Bytes, sealed: in.Sealed}
	}
	require.Equal(t, want, got, stream)
}

// checkGoldenScan reads every entry twice: by a fresh consumer group and
// by Scan plus ReadAt at the locations Scan reports.
func checkGoldenScan(t *testing.T, c *Client, stream string) {
	t.Helper()
	ctx := context.Background()
	n := goldenEntries[stream]
	nk, id, err := parsePattern(stream)
	require.NoError(t, err)
	cons := NewConsumer(c, ConsumerOptions{Group: "golden-check", Stream: ShardStreamName(nk.ns, nk.ver, *id)})
	defer cons.Close()
	msgs, err := cons.Read(ctx, nil, n+10)
	require.NoError(t, err)
	require.Len(t, msgs, n)
	for i, m := range msgs {
		require.EqualValues(t, i, m.ID.EntryNumber)
		require.Equal(t, goldenEntry(stream, i), m.Data, "%s entry %d", stream, i)
	}
	i := 0
	require.NoError(t, c.Scan(ctx, stream, 0, func(loc Location, data []byte) error {
		require.EqualValues(t, i, loc.ID.EntryNumber)
		require.Equal(t, goldenEntry(stream, i), data)
		at, err := c.ReadAt(ctx, stream, loc)
		require.NoError(t, err)
		require.Equal(t, data, at)
		i++
		return nil
	}))
	require.Equal(t, n, i)
}

// checkGoldenSeek seeks to the first timestamp of every segment that
// starts after its predecessor's last one: the seek lands on its first
// entry. Before everything is the first entry, after everything the end.
func checkGoldenSeek(t *testing.T, c *Client, stream string) {
	t.Helper()
	ctx := context.Background()
	nk, id, err := parsePattern(stream)
	require.NoError(t, err)
	cons := NewConsumer(c, ConsumerOptions{Group: "golden-seek", Stream: ShardStreamName(nk.ns, nk.ver, *id)})
	defer cons.Close()
	lag := func() int64 {
		l, err := cons.GetLag(ctx, *id)
		require.NoError(t, err)
		return l
	}
	n := int64(goldenEntries[stream])
	infos, err := c.Segments(stream)
	require.NoError(t, err)
	for i, in := range infos {
		if i > 0 && !in.MinTime.After(infos[i-1].MaxTime) {
			continue
		}
		require.NoError(t, cons.SeekToTime(ctx, *id, in.MinTime))
		require.Equal(t, n-in.FirstEntry, lag(), "seek to %v (segment %d)", in.MinTime, in.FirstEntry)
	}
	require.NoError(t, cons.SeekToTime(ctx, *id, time.Unix(0, 0)))
	require.Equal(t, n, lag())
	require.NoError(t, cons.SeekToTime(ctx, *id, infos[len(infos)-1].MaxTime.Add(time.Nanosecond)))
	require.Zero(t, lag())
}

// checkGoldenGroups compares the groups' offsets with the table.
func checkGoldenGroups(t *testing.T, c *Client) {
	t.Helper()
	got := map[goldenGroup]bool{}
	for _, g := range c.GetStats().Groups {
		if strings.HasPrefix(g.Group, "golden-") {
			continue // made by this test
		}
		got[goldenGroup{g.Stream, g.Group, g.Offset}] = true
	}
	want := map[goldenGroup]bool{}
	for _, g := range goldenGroups {
		want[g] = true
	}
	require.Equal(t, want, got)
}

// TestGolden_Format1_ReadOnlyConsumerResumesAtStoredOffset reads the
// fixture from a read-only client, as a consumer in another process
// would: a stored group resumes at its offset.
func TestGolden_Format1_ReadOnlyConsumerResumesAtStoredOffset(t *testing.T) {
	dir := copyTree(t, goldenFormat1)
	cfg := DefaultCometConfig()
	cfg.Concurrency.ReadOnly = true
	c := openClient(t, dir, cfg)
	cons := NewConsumer(c, ConsumerOptions{Group: "receiver/comet", Stream: "traces:v1:shard:*"})
	msgs, err := cons.Read(context.Background(), nil, 1000)
	require.NoError(t, err)
	require.Len(t, msgs, goldenEntries[goldenTraces]-41)
	for i, m := range msgs {
		require.EqualValues(t, 41+i, m.ID.EntryNumber)
		require.Equal(t, goldenEntry(goldenTraces, 41+i), m.Data)
	}
}

// TestGolden_Format1_AppendsContinueAfterReopen appends to the fixture
// and reopens it: numbering continues and old and new entries read back.
func TestGolden_Format1_AppendsContinueAfterReopen(t *testing.T) {
	dir := copyTree(t, goldenFormat1)
	ctx := context.Background()
	c, err := NewClientWithConfig(dir, DefaultCometConfig())
	require.NoError(t, err)
	ids, err := c.Append(ctx, goldenTraces, [][]byte{[]byte("after format 1")})
	require.NoError(t, err)
	require.EqualValues(t, goldenEntries[goldenTraces], ids[0].EntryNumber)
	require.NoError(t, c.Close())

	c = openClient(t, dir, DefaultCometConfig())
	cons := NewConsumer(c, ConsumerOptions{Group: "replay", Stream: "traces:v1:shard:*"})
	msgs, err := cons.Read(ctx, nil, 1000)
	require.NoError(t, err)
	require.Len(t, msgs, goldenEntries[goldenTraces]+1-17)
	require.Equal(t, goldenEntry(goldenTraces, 17), msgs[0].Data)
	require.Equal(t, []byte("after format 1"), msgs[len(msgs)-1].Data)
}
