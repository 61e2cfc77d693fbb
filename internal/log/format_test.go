// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newerRecord encodes a record the way a writer of format version v
// would: today's framing, the version in byte 17, a valid checksum.
func newerRecord(payload []byte, v int) []byte {
	rec := make([]byte, headerSize+len(payload))
	copy(rec[headerSize:], payload)
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint64(rec[8:16], 1)
	rec[17] = byte(v - 1)
	binary.LittleEndian.PutUint32(rec[4:8], crc32.Checksum(rec[8:], castagnoli))
	return rec
}

// withChecksum appends the CRC-32C of b, as index files end.
func withChecksum(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// formatFixture writes a directory with two sealed segments (with
// indexes) and an active one on formatStream, and a consumer group.
func formatFixture(t *testing.T) (dir, shardDir string) {
	t.Helper()
	dir = t.TempDir()
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 4096
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	appendN(t, c, formatStream, 100, 90, 5)
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "fmt:v1:shard:*"})
	require.NoError(t, cons.Ack(context.Background(), MessageID{EntryNumber: 9}))
	require.NoError(t, c.Close())
	shardDir = filepath.Join(dir, "fmt", "v1", "shard-0000")
	segs, err := filepath.Glob(filepath.Join(shardDir, "*"+segmentSuffix))
	require.NoError(t, err)
	require.Greater(t, len(segs), 2)
	return dir, shardDir
}

const formatStream = "fmt:v1:shard:0000"

// formatShardFiles returns the shard's segment paths, oldest first, and the
// path of its consumer group's offset file.
func formatShardFiles(t *testing.T, shardDir string) (segs []string, offsetFile string) {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(shardDir, "*"+segmentSuffix))
	require.NoError(t, err)
	return segs, filepath.Join(shardDir, groupsDirName, groupFileName("g"))
}

// TestFormat_NewerVersion_IsRefusedAndLeftUntouched writes, in each case,
// one directory marker, record, index or offset file the way a newer
// format would, and expects writers and readers to refuse the directory
// with an error naming the file and both versions, without reading it
// as damage and without changing a byte.
func TestFormat_NewerVersion_IsRefusedAndLeftUntouched(t *testing.T) {
	cases := []struct {
		name   string
		inject func(t *testing.T, dir, shardDir string) (file string)
		what   string
	}{
		{"directory_marker", func(t *testing.T, dir, _ string) string {
			path := filepath.Join(dir, formatFileName)
			require.NoError(t, os.WriteFile(path, encodeFormatMarker(2), 0o600))
			return path
		}, "directory"},
		{"record_appended_to_active_segment", func(t *testing.T, _, shardDir string) string {
			segs, _ := formatShardFiles(t, shardDir)
			active := segs[len(segs)-1]
			f, err := os.OpenFile(active, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			defer f.Close()
			_, err = f.Write(newerRecord([]byte("written by format 2"), 2))
			require.NoError(t, err)
			return active
		}, "record"},
		{"record_in_sealed_segment_without_index", func(t *testing.T, _, shardDir string) string {
			segs, _ := formatShardFiles(t, shardDir)
			require.NoError(t, os.Remove(segs[0][:len(segs[0])-len(segmentSuffix)]+indexSuffix))
			require.NoError(t, os.WriteFile(segs[0], append(newerRecord([]byte("format 2"), 2), newerRecord([]byte("more"), 2)...), 0o600))
			return segs[0]
		}, "record"},
		{"record_at_last_index_point", func(t *testing.T, _, shardDir string) string {
			segs, _ := formatShardFiles(t, shardDir)
			replaceRecord(t, segs[1], lastIndexPoint(t, segs[1]), 3)
			return segs[1]
		}, "record"},
		{"index_file", func(t *testing.T, _, shardDir string) string {
			segs, _ := formatShardFiles(t, shardDir)
			path := segs[0][:len(segs[0])-len(segmentSuffix)] + indexSuffix
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			b = b[:len(b)-4]
			b[4] = indexVersion + 1
			require.NoError(t, os.WriteFile(path, withChecksum(append(b, "a longer newer index"...)), 0o600))
			return path
		}, "index file"},
		{"offset_file", func(t *testing.T, _, shardDir string) string {
			_, path := formatShardFiles(t, shardDir)
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			b[4] = offsetVersion + 1
			n := binary.LittleEndian.Uint32(b[8:])
			binary.LittleEndian.PutUint32(b[12+n:], crc32.Checksum(b[:12+n], castagnoli))
			require.NoError(t, os.WriteFile(path, b, 0o600))
			return path
		}, "offset file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, shardDir := formatFixture(t)
			file := tc.inject(t, dir, shardDir)
			before := treeHashes(t, dir, segmentSuffix, indexSuffix, offsetFileExt, formatFileName)
			for _, readOnly := range []bool{false, true} {
				cfg, logs := observedConfig(testConfig())
				cfg.Concurrency.ReadOnly = readOnly
				c, err := NewClientWithConfig(dir, cfg)
				if c != nil {
					_ = c.Close()
				}
				require.ErrorIs(t, err, ErrNewerFormat, "read-only %v", readOnly)
				var fe *FormatError
				require.ErrorAs(t, err, &fe)
				require.Equal(t, file, fe.Path)
				require.Equal(t, tc.what, fe.What)
				require.Greater(t, fe.Found, fe.Supported)
				require.Contains(t, err.Error(), file)
				require.Empty(t, logs.FilterMessageSnippet("amaged").All(), "a newer format is not damage")
				require.Empty(t, logs.FilterMessageSnippet("runcat").All(), "a newer format is not truncated")
			}
			require.Equal(t, before, treeHashes(t, dir, segmentSuffix, indexSuffix, offsetFileExt, formatFileName))
		})
	}
}

// lastIndexPoint returns the byte offset of the last point of a sealed
// segment's index.
func lastIndexPoint(t *testing.T, segPath string) int64 {
	t.Helper()
	b, err := os.ReadFile(segPath[:len(segPath)-len(segmentSuffix)] + indexSuffix)
	require.NoError(t, err)
	_, x, err := decodeIndex(b, 1<<16)
	require.NoError(t, err)
	return x.points[len(x.points)-1].pos
}

// replaceRecord overwrites the record at off in place with a record of
// format version v holding the same payload: same size, so the segment's
// index still matches.
func replaceRecord(t *testing.T, segPath string, off int64, v int) {
	t.Helper()
	b, err := os.ReadFile(segPath)
	require.NoError(t, err)
	h, ok := parseHeader(b[off:])
	require.True(t, ok)
	copy(b[off:], newerRecord(b[off+headerSize:off+h.recordSize()], v))
	require.NoError(t, os.WriteFile(segPath, b, 0o600))
}

// TestFormat_NewerRecordInsideIndexedSegment_IsRefusedOnRead: a sealed
// segment is not read at open beyond its index's last point, so a newer
// record elsewhere in it is found by the reader, which stops there with a
// *FormatError instead of skipping it as damage.
func TestFormat_NewerRecordInsideIndexedSegment_IsRefusedOnRead(t *testing.T) {
	dir, shardDir := formatFixture(t)
	segs, _ := formatShardFiles(t, shardDir)
	offs := recordOffsets(t, segs[0])
	replaceRecord(t, segs[0], offs[3], 2)
	before := treeHashes(t, dir, segmentSuffix, indexSuffix)

	c := openClient(t, dir, testConfig())
	cons := NewConsumer(c, ConsumerOptions{Group: "new", Stream: "fmt:v1:shard:*"})
	msgs, err := cons.Read(context.Background(), nil, 100)
	require.ErrorIs(t, err, ErrNewerFormat)
	var fe *FormatError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, segs[0], fe.Path)
	require.Equal(t, offs[3], fe.Offset)
	require.Len(t, msgs, 3, "the entries before it are delivered")
	_, err = cons.Read(context.Background(), nil, 100)
	require.ErrorIs(t, err, ErrNewerFormat, "and the reader stays there")
	require.Zero(t, c.GetStats().CorruptEntries)
	require.NoError(t, c.Close())
	requireUnchanged(t, before, treeHashes(t, dir, segmentSuffix, indexSuffix))
}

// TestFormat_NewDirectory_GetsMarkerOfThisFormat checks the marker a
// writer creates, and that a reader creates none.
func TestFormat_NewDirectory_GetsMarkerOfThisFormat(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Concurrency.ReadOnly = true
	c := openClient(t, dir, cfg)
	require.NoError(t, c.Close())
	require.NoFileExists(t, filepath.Join(dir, formatFileName))

	c = openClient(t, dir, testConfig())
	require.NoError(t, c.Close())
	b, err := os.ReadFile(filepath.Join(dir, formatFileName))
	require.NoError(t, err)
	v, err := decodeFormatMarker(b)
	require.NoError(t, err)
	require.Equal(t, FormatVersion, v)
}

// TestFormat_Format1WithoutMarker_ReadsUnchangedAndGetsMarker opens the
// golden format-1 directory, written before markers existed: no
// migration, only the marker is added.
func TestFormat_Format1WithoutMarker_ReadsUnchangedAndGetsMarker(t *testing.T) {
	dir := copyTree(t, goldenFormat1)
	require.NoFileExists(t, filepath.Join(dir, formatFileName))
	before := treeHashes(t, dir, segmentSuffix, indexSuffix, offsetFileExt)
	c := openClient(t, dir, DefaultCometConfig())
	n, err := c.Len(context.Background(), goldenTraces)
	require.NoError(t, err)
	require.EqualValues(t, goldenEntries[goldenTraces], n)
	require.NoError(t, c.Close())
	requireUnchanged(t, before, treeHashes(t, dir, segmentSuffix, indexSuffix, offsetFileExt))
	b, err := os.ReadFile(filepath.Join(dir, formatFileName))
	require.NoError(t, err)
	require.Equal(t, encodeFormatMarker(1), b)
}

// TestFormat_DamagedMarker_OpensAndRewritesIt: a damaged marker is
// logged, never a reason to refuse a directory.
func TestFormat_DamagedMarker_OpensAndRewritesIt(t *testing.T) {
	cases := map[string]func(path string){
		"wrong_size": func(path string) { _ = os.WriteFile(path, []byte("CMFV"), 0o600) },
		"bad_checksum": func(path string) {
			b := encodeFormatMarker(1)
			b[6] ^= 1
			_ = os.WriteFile(path, b, 0o600)
		},
		"foreign_text": func(path string) { _ = os.WriteFile(path, []byte("format = 1, trust me\n"), 0o600) },
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			dir, _ := formatFixture(t)
			path := filepath.Join(dir, formatFileName)
			damage(path)
			cfg, logs := observedConfig(testConfig())
			c := openClient(t, dir, cfg)
			n, err := c.Len(context.Background(), formatStream)
			require.NoError(t, err)
			require.EqualValues(t, 100, n)
			require.Len(t, logs.FilterMessageSnippet("format marker").FilterField(zap.String("file", path)).All(), 1)
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, encodeFormatMarker(FormatVersion), b)
		})
	}
}

// TestFormat_MarkerIsADirectory_StillOpens: a directory where the marker
// belongs cannot be replaced; the log opens anyway.
func TestFormat_MarkerIsADirectory_StillOpens(t *testing.T) {
	dir, _ := formatFixture(t)
	require.NoError(t, os.Remove(filepath.Join(dir, formatFileName)))
	require.NoError(t, os.Mkdir(filepath.Join(dir, formatFileName), 0o700))
	cfg, logs := observedConfig(testConfig())
	c := openClient(t, dir, cfg)
	n, err := c.Len(context.Background(), formatStream)
	require.NoError(t, err)
	require.EqualValues(t, 100, n)
	require.NotEmpty(t, logs.FilterLevelExact(zapcore.WarnLevel).FilterMessageSnippet("format marker").All())
}

// TestFormat_VersionByteWithBadChecksum_IsDamage: a version byte a
// newer writer would set, but a checksum that does not hold, is a
// damaged record like any other: skipped and counted.
func TestFormat_VersionByteWithBadChecksum_IsDamage(t *testing.T) {
	dir, shardDir := formatFixture(t)
	segs, _ := formatShardFiles(t, shardDir)
	active := segs[len(segs)-1]
	b, err := os.ReadFile(active)
	require.NoError(t, err)
	b[17] = 1 // the first record: its checksum no longer holds
	require.NoError(t, os.WriteFile(active, b, 0o600))
	c := openClient(t, dir, testConfig())
	n, err := c.Len(context.Background(), formatStream)
	require.NoError(t, err)
	require.EqualValues(t, 100, n)
	got := drain(t, NewConsumer(c, ConsumerOptions{Group: "new", Stream: "fmt:v1:shard:*"}), 1000)
	require.Len(t, got, 99)
	require.EqualValues(t, 1, c.GetStats().CorruptEntries)
}
