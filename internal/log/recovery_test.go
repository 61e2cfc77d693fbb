// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const recoveryStream = "logs:v1:shard:0000"

// recordOffsets returns the byte offset of every record in a segment file.
func recordOffsets(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var offs []int64
	for pos := int64(0); pos < int64(len(b)); {
		offs = append(offs, pos)
		pos += headerSize + int64(binary.LittleEndian.Uint32(b[pos:]))
	}
	return offs
}

func segmentPath(dir string, base int64) string {
	return filepath.Join(dir, "logs", "v1", "shard-0000", segmentFileName(base))
}

// writeEntries creates a log with n entries of the given size, one per
// Append, and closes it.
func writeEntries(t *testing.T, dir string, cfg CometConfig, n, size int) [][]byte {
	t.Helper()
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	want := appendN(t, c, recoveryStream, n, size, 1)
	require.NoError(t, c.Close())
	return want
}

// flipBit inverts one bit of a file.
func flipBit(t *testing.T, path string, offset int64, bit uint) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, offset)
	require.NoError(t, err)
	b[0] ^= 1 << bit
	_, err = f.WriteAt(b, offset)
	require.NoError(t, err)
}

// dropCheckpoint removes the checkpoint Close wrote for the active
// segment 0 of recoveryStream, as a crash leaves none.
func dropCheckpoint(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, os.Remove(filepath.Join(filepath.Dir(segmentPath(dir, 0)), indexFileName(0))))
}

// readAllIDs drains a fresh group and returns entry number → payload.
func readAllIDs(t *testing.T, c *Client) map[int64][]byte {
	t.Helper()
	got := map[int64][]byte{}
	for _, m := range drain(t, NewConsumer(c, ConsumerOptions{Group: "check", Stream: "logs:v1:shard:*"}), 64) {
		got[m.ID.EntryNumber] = m.Data
	}
	return got
}

func TestRecovery_TornLastRecord_AtEveryByteOffset(t *testing.T) {
	cfg := testConfig()
	src := t.TempDir()
	want := writeEntries(t, src, cfg, 5, 100)
	path := segmentPath(src, 0)
	offs := recordOffsets(t, path)
	full, err := os.ReadFile(path)
	require.NoError(t, err)
	last := offs[len(offs)-1]

	for cut := last + 1; cut < int64(len(full)); cut++ {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Dir(segmentPath(dir, 0)), 0o700))
		require.NoError(t, os.WriteFile(segmentPath(dir, 0), full[:cut], 0o600))
		cfg, logs := observedConfig(cfg)
		c, err := NewClientWithConfig(dir, cfg)
		require.NoError(t, err, "cut at %d", cut)
		n, err := c.Len(context.Background(), recoveryStream)
		require.NoError(t, err)
		require.EqualValues(t, 4, n, "cut at %d", cut)
		st := c.GetStats()
		require.EqualValues(t, 1, st.Truncations, "cut at %d", cut)
		require.EqualValues(t, cut-last, st.TruncatedBytes)
		require.Equal(t, 1, logs.FilterMessage("Truncating torn tail of segment").Len())
		assert.Equal(t, last, logs.FilterMessage("Truncating torn tail of segment").All()[0].ContextMap()["offset"])

		ids, err := c.Append(context.Background(), recoveryStream, [][]byte{[]byte("after repair")})
		require.NoError(t, err)
		require.EqualValues(t, 4, ids[0].EntryNumber, "new appends follow the last good record")
		got := readAllIDs(t, c)
		require.Len(t, got, 5)
		for i := range 4 {
			require.Equal(t, want[i], got[int64(i)])
		}
		require.Equal(t, "after repair", string(got[4]))
		require.NoError(t, c.Close())
	}
}

func TestRecovery_BitFlipInActiveSegment(t *testing.T) {
	cases := []struct {
		name      string
		field     int64 // offset within the record
		wantLen   int64 // entries after recovery
		wantSkips int64 // damaged records readers skip
	}{
		{"payload", headerSize + 30, 10, 1},
		{"checksum", 5, 10, 1},
		{"timestamp", 9, 10, 1},
		{"flags", 16, 10, 1},
		{"reserved", 18, 10, 1},
		// A damaged length cannot be trusted to find the next record: the
		// scan searches for the next intact one.
		{"length", 1, 10, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			want := writeEntries(t, dir, testConfig(), 10, 100)
			offs := recordOffsets(t, segmentPath(dir, 0))
			flipBit(t, segmentPath(dir, 0), offs[4]+tc.field, 3)

			c := openClient(t, dir, testConfig())
			n, err := c.Len(context.Background(), recoveryStream)
			require.NoError(t, err)
			require.Equal(t, tc.wantLen, n)
			got := readAllIDs(t, c)
			require.Len(t, got, int(tc.wantLen-tc.wantSkips))
			require.NotContains(t, got, int64(4), "a damaged record is never returned as data")
			for e, data := range got {
				require.Equal(t, want[e], data, "entry %d", e)
			}
			st := c.GetStats()
			require.Equal(t, tc.wantSkips, st.CorruptEntries)
			require.Zero(t, st.Truncations, "intact records after the damage are kept")
			ids, err := c.Append(context.Background(), recoveryStream, [][]byte{[]byte("new")})
			require.NoError(t, err)
			require.Equal(t, tc.wantLen, ids[0].EntryNumber)
		})
	}
}

func TestRecovery_BitFlipInSealedSegment(t *testing.T) {
	cases := []struct {
		name     string
		field    int64
		wantLost int64 // entries readers cannot deliver
	}{
		{"payload", headerSize + 30, 1},
		{"timestamp", 9, 1},
		// With the length damaged the reader finds the next intact record
		// and numbers it from the next index point.
		{"length", 2, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig()
			cfg.Storage.MaxFileSize = 30 * 120 // 30 records per segment
			want := writeEntries(t, dir, cfg, 70, 100)
			offs := recordOffsets(t, segmentPath(dir, 30))
			require.Len(t, offs, 30)
			flipBit(t, segmentPath(dir, 30), offs[4]+tc.field, 6)

			cfg, logs := observedConfig(cfg)
			c := openClient(t, dir, cfg)
			got := readAllIDs(t, c)
			require.Len(t, got, 70-int(tc.wantLost))
			for e := int64(34); e < 34+tc.wantLost; e++ {
				require.NotContains(t, got, e)
			}
			for e, data := range got {
				require.Equal(t, want[e], data, "entry %d keeps its number and payload", e)
			}
			require.Equal(t, tc.wantLost, c.GetStats().CorruptEntries)
			entries := logs.FilterMessage("Skipping damaged records: their entries will not be delivered").All()
			require.Len(t, entries, 1)
			require.Contains(t, entries[0].ContextMap()["error"], segmentPath(dir, 30))
		})
	}
}

func TestRecovery_IndexPointingPastEndIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 30 * 120
	want := writeEntries(t, dir, cfg, 70, 100)
	// Power loss after sealing: the index survived, the segment lost its
	// last record. The index now points past the end.
	path := segmentPath(dir, 0)
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, info.Size()-50))

	cfg, logs := observedConfig(cfg)
	c := openClient(t, dir, cfg)
	require.Equal(t, 1, logs.FilterMessage("Rebuilding segment index").Len())
	got := readAllIDs(t, c)
	require.Len(t, got, 69, "only the cut record is lost")
	require.NotContains(t, got, int64(29))
	for e, data := range got {
		require.Equal(t, want[e], data)
	}
	require.EqualValues(t, 1, c.GetStats().Truncations)
	require.EqualValues(t, 1, c.GetStats().LostEntries, "the consumer counts the missing entry")

	// The rebuilt index was written back and is valid at the next open.
	require.NoError(t, c.Close())
	cfg2, logs2 := observedConfig(testConfig())
	cfg2.Storage.MaxFileSize = 30 * 120
	openClient(t, dir, cfg2)
	require.Zero(t, logs2.FilterMessage("Rebuilding segment index").Len())
}

func TestRecovery_DamagedIndexFileIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 30 * 120
	want := writeEntries(t, dir, cfg, 70, 100)
	idx := filepath.Join(filepath.Dir(segmentPath(dir, 0)), indexFileName(0))
	flipBit(t, idx, 20, 1)

	cfg, logs := observedConfig(cfg)
	c := openClient(t, dir, cfg)
	require.Equal(t, 1, logs.FilterMessage("Rebuilding segment index").Len())
	got := readAllIDs(t, c)
	require.Len(t, got, 70)
	for e, data := range got {
		require.Equal(t, want[e], data)
	}
}

func TestRecovery_GarbageActiveSegment_StillOpens(t *testing.T) {
	dir := t.TempDir()
	writeEntries(t, dir, testConfig(), 3, 10)
	require.NoError(t, os.WriteFile(segmentPath(dir, 0), []byte("this is not a comet segment at all, just garbage bytes"), 0o600))
	c := openClient(t, dir, testConfig())
	n, err := c.Len(context.Background(), recoveryStream)
	require.NoError(t, err)
	require.Zero(t, n)
	ids, err := c.Append(context.Background(), recoveryStream, [][]byte{[]byte("fresh")})
	require.NoError(t, err)
	require.Zero(t, ids[0].EntryNumber)
	require.Len(t, readAllIDs(t, c), 1)
}

func TestRecovery_DamageOfUnknownLength_RewindsGroupsAndPinsNumbering(t *testing.T) {
	dir := t.TempDir()
	want := writeEntries(t, dir, testConfig(), 12, 100)
	c, err := NewClientWithConfig(dir, testConfig())
	require.NoError(t, err)
	cons := NewConsumer(c, ConsumerOptions{Group: "ahead", Stream: "logs:v1:shard:*"})
	require.NoError(t, cons.Ack(context.Background(), MessageID{EntryNumber: 9}))
	require.NoError(t, c.Close())
	dropCheckpoint(t, dir) // as after a crash: the active segment is scanned
	// Records 4 and 5 damaged together: the length of 4 and the header of
	// 5. The region holds two entries, the scan can only count one, so the
	// entries after it are numbered one lower than when written.
	offs := recordOffsets(t, segmentPath(dir, 0))
	flipBit(t, segmentPath(dir, 0), offs[4]+2, 5)
	flipBit(t, segmentPath(dir, 0), offs[5]+17, 0)

	cfg, logs := observedConfig(testConfig())
	c = openClient(t, dir, cfg)
	require.Equal(t, 1, logs.FilterMessage("Rewinding a consumer group to re-deliver entries after damaged data").Len())
	got := drain(t, NewConsumer(c, ConsumerOptions{Group: "ahead", Stream: "logs:v1:shard:*"}), 100)
	delivered := map[string]bool{}
	for _, m := range got {
		delivered[string(m.Data)] = true
	}
	for i := 6; i < 12; i++ {
		require.True(t, delivered[string(want[i])], "entry written as %d is delivered again, not skipped", i)
	}
	require.EqualValues(t, 1, c.GetStats().Rotations, "the damaged active segment is sealed to pin its numbering")
	n := mustLen(t, c, recoveryStream)
	require.NoError(t, c.Close())

	cfg, logs = observedConfig(testConfig())
	c = openClient(t, dir, cfg)
	require.Equal(t, n, mustLen(t, c, recoveryStream), "the next open numbers the same")
	require.Zero(t, logs.FilterMessage("Rewinding a consumer group to re-deliver entries after damaged data").Len(), "and rewinds nothing")
	require.Empty(t, drain(t, NewConsumer(c, ConsumerOptions{Group: "ahead", Stream: "logs:v1:shard:*"}), 100))
}

// TestRecovery_DamageOfUnknownLength_UnderCheckpoint_KeepsNumbering damages
// records of an active segment that a clean Close checkpointed: the open
// does not scan them, nothing is renumbered or rewound, and readers skip
// exactly the damaged entries, numbered as written.
func TestRecovery_DamageOfUnknownLength_UnderCheckpoint_KeepsNumbering(t *testing.T) {
	dir := t.TempDir()
	want := writeEntries(t, dir, testConfig(), 12, 100)
	offs := recordOffsets(t, segmentPath(dir, 0))
	flipBit(t, segmentPath(dir, 0), offs[4]+2, 5)
	flipBit(t, segmentPath(dir, 0), offs[5]+17, 0)

	cfg, logs := observedConfig(testConfig())
	c := openClient(t, dir, cfg)
	require.Zero(t, logs.FilterMessageSnippet("Rewinding").Len())
	require.EqualValues(t, 12, mustLen(t, c, recoveryStream))
	got := readAllIDs(t, c)
	require.Len(t, got, 10)
	for e, data := range got {
		require.Equal(t, want[e], data, "entry %d keeps its number", e)
	}
	require.NotContains(t, got, int64(4))
	require.NotContains(t, got, int64(5))
	require.EqualValues(t, 2, c.GetStats().CorruptEntries)
}
