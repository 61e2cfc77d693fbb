// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// Hostile directory contents: whatever was put in a data directory from
// outside, the log opens (a clear error only where it cannot work at
// all), never panics or hangs, reports what it skipped with the file,
// and delivers every intact record of the streams it can read.

const (
	hostileNS      = "hz"
	hostileEntries = 100
	hostileSize    = 90 // 110-byte records: about 18 per 2 KiB segment
)

// hostileFixture is a data directory of two shards of hostileEntries
// entries in several sealed segments each, with group "g" at entry 50 of
// shard 0, closed cleanly.
type hostileFixture struct {
	dir    string
	shards [2]string // shard directories
	segs   [2][]SegmentInfo
}

func hostileConfig() CometConfig {
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 2048
	return cfg
}

func newHostileFixture(t *testing.T) hostileFixture {
	t.Helper()
	f := hostileFixture{dir: t.TempDir()}
	c, err := NewClientWithConfig(f.dir, hostileConfig())
	require.NoError(t, err)
	ctx := context.Background()
	for s := range 2 {
		stream := ShardStreamName(hostileNS, "v1", uint32(s))
		for i := 0; i < hostileEntries; i += 3 {
			var batch [][]byte
			for j := i; j < min(i+3, hostileEntries); j++ {
				batch = append(batch, payload(uint32(s), j, hostileSize))
			}
			_, err := c.Append(ctx, stream, batch)
			require.NoError(t, err)
		}
		f.segs[s], err = c.Segments(stream)
		require.NoError(t, err)
		require.Greater(t, len(f.segs[s]), 4)
		f.shards[s] = filepath.Join(f.dir, hostileNS, "v1", fmt.Sprintf("shard-%04d", s))
	}
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: hostileNS + ":v1:shard:0000"})
	require.NoError(t, cons.Ack(ctx, MessageID{EntryNumber: 49}))
	require.NoError(t, c.Close())
	return f
}

// segPath is the path of segment i of shard s; idxPath its index.
func (f hostileFixture) segPath(s, i int) string {
	return filepath.Join(f.shards[s], segmentFileName(f.segs[s][i].FirstEntry))
}
func (f hostileFixture) idxPath(s, i int) string {
	return filepath.Join(f.shards[s], indexFileName(f.segs[s][i].FirstEntry))
}

// hostileWant is what a case expects of the reopened log.
type hostileWant struct {
	// missing lists, per shard, the entries the fault made unreadable.
	missing [2]func(f hostileFixture) []int64
	// groupFrom is where group "g" resumes on shard 0: 50, or 0 when its
	// offset file was lost (redelivery, never a skip).
	groupFrom int64
	// warns is a snippet a Warn or Error log entry must hold.
	warns string
}

func TestHostile_DirectoryContents(t *testing.T) {
	noFault := func(*testing.T, hostileFixture) {}
	cases := []struct {
		name   string
		inject func(t *testing.T, f hostileFixture)
		want   hostileWant
	}{
		{"no_fault", noFault, hostileWant{groupFrom: 50}},
		{"foreign_files_everywhere", func(t *testing.T, f hostileFixture) {
			for _, p := range []string{
				filepath.Join(f.dir, "README.txt"), filepath.Join(f.dir, hostileNS, "notes"),
				filepath.Join(f.dir, hostileNS, "v1", "shard-x"), filepath.Join(f.shards[0], "log-abc.comet"),
				filepath.Join(f.shards[0], "notes.tmp"), filepath.Join(f.shards[0], "garbage.index"),
				filepath.Join(f.shards[0], "log-0000000000000001.comet.bak"), filepath.Join(f.shards[0], groupsDirName, "g-nothex.offset.txt"),
			} {
				require.NoError(t, os.WriteFile(p, []byte("not comet's"), 0o600))
			}
		}, hostileWant{groupFrom: 50}},
		{"segment_name_is_a_directory", func(t *testing.T, f hostileFixture) {
			require.NoError(t, os.Mkdir(filepath.Join(f.shards[0], segmentFileName(5000)), 0o700))
		}, hostileWant{groupFrom: 50, warns: "not a regular file"}},
		{"segment_name_is_a_dangling_symlink", func(t *testing.T, f hostileFixture) {
			require.NoError(t, os.Symlink(filepath.Join(f.dir, "nowhere"), filepath.Join(f.shards[0], segmentFileName(6000))))
		}, hostileWant{groupFrom: 50, warns: "not a regular file"}},
		{"segment_name_is_a_fifo", func(t *testing.T, f hostileFixture) {
			mkfifo(t, filepath.Join(f.shards[0], segmentFileName(7000)))
		}, hostileWant{groupFrom: 50, warns: "not a regular file"}},
		{"segment_is_a_symlink", func(t *testing.T, f hostileFixture) {
			moved := filepath.Join(t.TempDir(), "moved.comet")
			require.NoError(t, os.Rename(f.segPath(0, 1), moved))
			require.NoError(t, os.Symlink(moved, f.segPath(0, 1)))
		}, hostileWant{groupFrom: 50}},
		{"shard_directory_is_a_symlink", func(t *testing.T, f hostileFixture) {
			moved := filepath.Join(t.TempDir(), "shard")
			require.NoError(t, os.Rename(f.shards[1], moved))
			require.NoError(t, os.Symlink(moved, f.shards[1]))
		}, hostileWant{groupFrom: 50}},
		{"shard_directory_is_a_file", func(t *testing.T, f hostileFixture) {
			require.NoError(t, os.WriteFile(filepath.Join(f.dir, hostileNS, "v1", "shard-0009"), []byte("x"), 0o600))
		}, hostileWant{groupFrom: 50}},
		{"groups_directory_is_a_file", func(t *testing.T, f hostileFixture) {
			require.NoError(t, os.RemoveAll(filepath.Join(f.shards[0], groupsDirName)))
			require.NoError(t, os.WriteFile(filepath.Join(f.shards[0], groupsDirName), []byte("x"), 0o600))
		}, hostileWant{groupFrom: 0, warns: "offset"}},
		{"index_is_a_directory", func(t *testing.T, f hostileFixture) {
			require.NoError(t, os.Remove(f.idxPath(0, 1)))
			require.NoError(t, os.Mkdir(f.idxPath(0, 1), 0o700))
		}, hostileWant{groupFrom: 50, warns: "index"}},
		{"index_of_another_segment", func(t *testing.T, f hostileFixture) {
			b, err := os.ReadFile(f.idxPath(0, 2))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(f.idxPath(0, 1), b, 0o600))
		}, hostileWant{groupFrom: 50, warns: "Rebuilding segment index"}},
		{"index_of_another_stream", func(t *testing.T, f hostileFixture) {
			b, err := os.ReadFile(f.idxPath(1, 1))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(f.idxPath(0, 1), b, 0o600))
		}, hostileWant{groupFrom: 50}},
		{"index_truncated", func(t *testing.T, f hostileFixture) {
			require.NoError(t, os.Truncate(f.idxPath(0, 1), 30))
		}, hostileWant{groupFrom: 50, warns: "Rebuilding segment index"}},
		{"index_huge_and_sparse", func(t *testing.T, f hostileFixture) {
			require.NoError(t, os.Truncate(f.idxPath(0, 1), 1<<30))
		}, hostileWant{groupFrom: 50, warns: "Rebuilding segment index"}},
		{"sealed_segment_emptied", func(t *testing.T, f hostileFixture) {
			require.NoError(t, os.Truncate(f.segPath(0, 1), 0))
		}, hostileWant{groupFrom: 50, warns: "Entries missing", missing: [2]func(hostileFixture) []int64{
			func(f hostileFixture) []int64 { return entryRange(f.segs[0][1].FirstEntry, f.segs[0][1].EndEntry) },
		}}},
		{"sealed_segment_cut_mid_record", func(t *testing.T, f hostileFixture) {
			require.NoError(t, os.Truncate(f.segPath(0, 1), f.segs[0][1].Bytes-50))
		}, hostileWant{groupFrom: 50, warns: "Truncating torn tail", missing: [2]func(hostileFixture) []int64{
			func(f hostileFixture) []int64 { return []int64{f.segs[0][1].EndEntry - 1} },
		}}},
		{"segment_of_another_stream_overlapping", func(t *testing.T, f hostileFixture) {
			b, err := os.ReadFile(f.segPath(1, 3))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(f.shards[0], segmentFileName(f.segs[0][1].FirstEntry+2)), b, 0o600))
		}, hostileWant{groupFrom: 50, warns: "Setting aside a segment"}},
		{"offset_file_truncated", func(t *testing.T, f hostileFixture) {
			require.NoError(t, os.Truncate(filepath.Join(f.shards[0], groupsDirName, groupFileName("g")), 10))
		}, hostileWant{groupFrom: 0, warns: "offset file is damaged"}},
		{"offset_file_with_trailing_garbage", func(t *testing.T, f hostileFixture) {
			appendBytes(t, filepath.Join(f.shards[0], groupsDirName, groupFileName("g")), make([]byte, 100))
		}, hostileWant{groupFrom: 50}},
		{"offset_file_huge_and_sparse", func(t *testing.T, f hostileFixture) {
			require.NoError(t, os.Truncate(filepath.Join(f.shards[0], groupsDirName, groupFileName("g")), 1<<30))
		}, hostileWant{groupFrom: 0, warns: "offset file is damaged"}},
		{"offset_file_of_another_group", func(t *testing.T, f hostileFixture) {
			dir := filepath.Join(f.shards[0], groupsDirName)
			b, err := os.ReadFile(filepath.Join(dir, groupFileName("other")))
			if err != nil {
				b = encodeOffsetFile("other", 99, 1)
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, groupFileName("g")), b, 0o600))
		}, hostileWant{groupFrom: 0, warns: "belongs to group"}},
		{"offset_file_is_a_fifo", func(t *testing.T, f hostileFixture) {
			path := filepath.Join(f.shards[0], groupsDirName, groupFileName("g"))
			require.NoError(t, os.Remove(path))
			mkfifo(t, path)
		}, hostileWant{groupFrom: 0, warns: "not a regular file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newHostileFixture(t)
			tc.inject(t, f)
			cfg, logs := observedConfig(hostileConfig())
			c := openWithin(t, f.dir, cfg, 20*time.Second)
			for s := range 2 {
				var missing []int64
				if fn := tc.want.missing[s]; fn != nil {
					missing = fn(f)
				}
				requireIntact(t, c, s, missing)
			}
			requireGroupResumesAt(t, c, tc.want.groupFrom)
			if tc.want.warns != "" {
				require.True(t, warned(logs, tc.want.warns), "a warning or error about %q", tc.want.warns)
			}
			// The log keeps taking appends on both streams.
			for s := range 2 {
				_, err := c.Append(context.Background(), ShardStreamName(hostileNS, "v1", uint32(s)), [][]byte{[]byte("after")})
				require.NoError(t, err)
			}
		})
	}
}

// openWithin opens dir and fails the test if that takes longer than d (a
// FIFO opened for reading would block it forever).
func openWithin(t *testing.T, dir string, cfg CometConfig, d time.Duration) *Client {
	t.Helper()
	type result struct {
		c   *Client
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := NewClientWithConfig(dir, cfg)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		require.NoError(t, r.err)
		t.Cleanup(func() { _ = r.c.Close() })
		return r.c
	case <-time.After(d):
		t.Fatalf("opening %s did not return within %v", dir, d)
		return nil
	}
}

// requireIntact reads shard s with a fresh group: every entry but missing
// is delivered with its content, in order.
func requireIntact(t *testing.T, c *Client, s int, missing []int64) {
	t.Helper()
	skip := map[int64]bool{}
	for _, e := range missing {
		skip[e] = true
	}
	cons := NewConsumer(c, ConsumerOptions{Group: fmt.Sprint("check-", s), Stream: ShardStreamName(hostileNS, "v1", uint32(s))})
	defer cons.Close()
	got := drain(t, cons, 1000)
	var want []int64
	for i := range int64(hostileEntries) {
		if !skip[i] {
			want = append(want, i)
		}
	}
	ids := make([]int64, len(got))
	for i, m := range got {
		ids[i] = m.ID.EntryNumber
		require.Equal(t, payload(uint32(s), int(m.ID.EntryNumber), hostileSize), m.Data, "shard %d entry %d", s, m.ID.EntryNumber)
	}
	require.Equal(t, want, ids, "shard %d", s)
}

// requireGroupResumesAt reads one entry of shard 0 for group "g".
func requireGroupResumesAt(t *testing.T, c *Client, from int64) {
	t.Helper()
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: hostileNS + ":v1:shard:0000"})
	defer cons.Close()
	msgs, err := cons.Read(context.Background(), nil, 1)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.Equal(t, from, msgs[0].ID.EntryNumber, "group g resumes at %d", from)
}

func entryRange(from, to int64) []int64 {
	var out []int64
	for e := from; e < to; e++ {
		out = append(out, e)
	}
	return out
}

// warned reports whether a warning or error was logged whose message or
// error field holds snippet.
func warned(logs *observer.ObservedLogs, snippet string) bool {
	return logs.Filter(func(e observer.LoggedEntry) bool {
		if e.Level < zapcore.WarnLevel {
			return false
		}
		if strings.Contains(e.Message, snippet) {
			return true
		}
		err, ok := e.ContextMap()["error"].(string)
		return ok && strings.Contains(err, snippet)
	}).Len() > 0
}

// TestHostile_LockFileIsADirectory: without its lock file the log cannot
// keep a second writer out, so this is the one entry that refuses the
// directory, with an error naming it.
func TestHostile_LockFileIsADirectory(t *testing.T) {
	f := newHostileFixture(t)
	require.NoError(t, os.Remove(filepath.Join(f.dir, lockFileName)))
	require.NoError(t, os.Mkdir(filepath.Join(f.dir, lockFileName), 0o700))
	_, err := NewClientWithConfig(f.dir, hostileConfig())
	require.ErrorContains(t, err, filepath.Join(f.dir, lockFileName))
	// Readers take no lock: they still read.
	cfg := hostileConfig()
	cfg.Concurrency.ReadOnly = true
	c := openClient(t, f.dir, cfg)
	requireIntact(t, c, 1, nil)
}

// TestHostile_SegmentOfAnotherStreamAfterTheEnd documents the limit of
// what can be told: records carry no stream identity, so a segment copied
// in with entry numbers past the stream's end reads as the stream's own.
// Every intact entry of the stream is still delivered, the numbers in
// between are counted as lost, and appends continue after it.
func TestHostile_SegmentOfAnotherStreamAfterTheEnd(t *testing.T) {
	f := newHostileFixture(t)
	b, err := os.ReadFile(f.segPath(1, 1))
	require.NoError(t, err)
	foreign := f.segs[1][1]
	require.NoError(t, os.WriteFile(filepath.Join(f.shards[0], segmentFileName(1000)), b, 0o600))

	c := openClient(t, f.dir, hostileConfig())
	cons := NewConsumer(c, ConsumerOptions{Group: "new", Stream: hostileNS + ":v1:shard:0000"})
	got := drain(t, cons, 1000)
	count := foreign.EndEntry - foreign.FirstEntry
	require.Len(t, got, hostileEntries+int(count))
	for i := range hostileEntries {
		require.Equal(t, payload(0, i, hostileSize), got[i].Data)
	}
	require.EqualValues(t, 1000, got[hostileEntries].ID.EntryNumber)
	require.EqualValues(t, 1000-hostileEntries, c.GetStats().LostEntries)
	ids, err := c.Append(context.Background(), hostileNS+":v1:shard:0000", [][]byte{[]byte("after")})
	require.NoError(t, err)
	require.Equal(t, 1000+count, ids[0].EntryNumber)
}

// TestHostile_EnormousLengthFields writes length fields no writer
// produces into real records: the damaged record is skipped (or, at the
// end, truncated as a torn tail), nothing is allocated for the length it
// claims, and every other record is delivered.
func TestHostile_EnormousLengthFields(t *testing.T) {
	cases := []struct {
		name   string
		length uint32
		last   bool // damage the shard's last record instead of one in the middle
	}{
		{"length_all_ones", 0xFFFFFFFF, false},
		{"length_at_the_hard_maximum", hardMaxEntrySize, false},
		{"length_just_below_the_hard_maximum", hardMaxEntrySize - 1, false},
		{"length_past_the_end_of_the_last_record", hardMaxEntrySize - 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newHostileFixture(t)
			seg, victim := 2, int64(0)
			if tc.last {
				seg = len(f.segs[0]) - 1
			}
			offs := recordOffsets(t, f.segPath(0, seg))
			victim = f.segs[0][seg].FirstEntry + 3
			at := offs[3]
			if tc.last {
				victim = f.segs[0][seg].EndEntry - 1
				at = offs[len(offs)-1]
			}
			rewriteHeaderLength(t, f.segPath(0, seg), at, tc.length)
			require.NoError(t, os.Remove(f.idxPath(0, seg))) // scanned at open, as after a crash

			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			c := openClient(t, f.dir, hostileConfig())
			requireIntact(t, c, 0, []int64{victim})
			requireIntact(t, c, 1, nil)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "nothing is allocated for the length a damaged header claims")
		})
	}
}

// rewriteHeaderLength sets the length field of the record at off.
func rewriteHeaderLength(t *testing.T, path string, off int64, length uint32) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer fh.Close()
	_, err = fh.WriteAt(binary.LittleEndian.AppendUint32(nil, length), off)
	require.NoError(t, err)
}

// TestClient_Append_EntriesAtAndAboveMaxEntrySize: an entry of exactly
// MaxEntrySize is stored and read back; one byte more is refused with
// ErrEntryTooLarge naming the entry, and nothing of its batch is written.
func TestClient_Append_EntriesAtAndAboveMaxEntrySize(t *testing.T) {
	cfg := testConfig()
	cfg.Storage.MaxEntrySize = 1 << 20
	cfg.Compression.Codec = CodecNone
	c := openClient(t, t.TempDir(), cfg)
	ctx := context.Background()
	stream := "big:v1:shard:0000"
	exact := bytes.Repeat([]byte{7}, 1<<20)
	_, err := c.Append(ctx, stream, [][]byte{exact})
	require.NoError(t, err)
	_, err = c.Append(ctx, stream, [][]byte{[]byte("small"), make([]byte, 1<<20+1)})
	require.ErrorIs(t, err, ErrEntryTooLarge)
	require.ErrorContains(t, err, "entry 1")
	n, err := c.Len(ctx, stream)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "nothing of the refused batch is written")
	msgs := drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "big:v1:shard:*"}), 10)
	require.Len(t, msgs, 1)
	require.Equal(t, exact, msgs[0].Data)
}
