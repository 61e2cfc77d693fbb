// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/comet-otel/comet/internal/log"
)

// snapshotSettings are small segments and compaction run by the test.
func snapshotSettings(logger *zap.Logger) clientSettings {
	return clientSettings{
		logger:      logger,
		sync:        SyncConfig{Mode: SyncNone},
		segmentSize: 8 << 10,
		compaction:  CompactionConfig{Ratio: 0.3, CheckInterval: time.Hour},
		dirMode:     0o700,
	}
}

// openObserved opens the client in dir with a logger the test reads.
func openObserved(t *testing.T, dir string) (*client, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	c, err := openClient(context.Background(), dir, snapshotSettings(zap.New(core)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c, logs
}

// openedFrom returns what the open said about the snapshot and the
// records it read.
func openedFrom(t *testing.T, logs *observer.ObservedLogs) (fromSnapshot bool, read int64) {
	t.Helper()
	opened := logs.FilterMessage("Opened comet storage client").All()
	require.Len(t, opened, 1)
	f := opened[0].ContextMap()
	return f["from_snapshot"].(bool), f["records_read"].(int64)
}

// churn applies n random batches (sets, deletes, hot and cold keys) to c
// and m, with a compaction round now and then.
func churn(t *testing.T, c *client, m model, rng *rand.Rand, n int) {
	t.Helper()
	ctx := context.Background()
	for range n {
		var ops []*storage.Operation
		for range 1 + rng.IntN(3) {
			key := fmt.Sprintf("hot-%d", rng.IntN(15))
			if rng.IntN(3) == 0 {
				key = fmt.Sprintf("cold-%d", rng.IntN(500))
			}
			if rng.IntN(3) == 0 {
				ops = append(ops, storage.DeleteOperation(key))
			} else {
				ops = append(ops, storage.SetOperation(key, bytes.Repeat([]byte{byte(rng.Uint32())}, rng.IntN(300))))
			}
		}
		require.NoError(t, c.Batch(ctx, ops...))
		for _, op := range ops {
			if op.Type == storage.Set {
				m[op.Key] = op.Value
			} else {
				delete(m, op.Key)
			}
		}
		if rng.IntN(40) == 0 {
			c.maintain()
		}
	}
}

// copyLiveDir copies src, which an open client may be changing (or a
// fixture), to dst as a crash at that moment would leave it: a file that disappears between
// the listing and its copy (an index written to a temporary file, then
// renamed) is left out, as the rename had happened.
func copyLiveDir(t *testing.T, dst, src string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o600)
	})
	require.NoError(t, err)
}

// fullRead opens a copy of dir without its snapshot: the client a read
// of the whole log builds.
func fullRead(t *testing.T, dir string) *client {
	t.Helper()
	copyDir := t.TempDir()
	copyLiveDir(t, copyDir, dir)
	require.NoError(t, os.Remove(filepath.Join(copyDir, snapshotFileName)))
	c, logs := openObserved(t, copyDir)
	fromSnapshot, _ := openedFrom(t, logs)
	require.False(t, fromSnapshot)
	return c
}

// requireSameValues checks that two key directories point every live key
// at the same record and value.
func requireSameValues(t *testing.T, want, got keydir) {
	t.Helper()
	require.Equal(t, want.live, got.live)
	for k, e := range want.keys {
		if e.tombstone() {
			continue
		}
		g := got.keys[k]
		require.Equal(t, e.seg, g.seg, "key %q", k)
		require.Equal(t, e.off, g.off, "key %q", k)
		require.Equal(t, e.voff, g.voff, "key %q", k)
		require.Equal(t, e.vlen, g.vlen, "key %q", k)
	}
}

// TestSnapshot_Reopen_ReadsNoRecord: after a clean Close, the next open
// reads the snapshot and not a single record of the log.
func TestSnapshot_Reopen_ReadsNoRecord(t *testing.T) {
	dir := t.TempDir()
	c, _ := openObserved(t, dir)
	m := model{}
	churn(t, c, m, rand.New(rand.NewPCG(3, 4)), 600)
	require.NoError(t, c.Close(context.Background()))
	require.FileExists(t, filepath.Join(dir, snapshotFileName))

	c, logs := openObserved(t, dir)
	fromSnapshot, read := openedFrom(t, logs)
	require.True(t, fromSnapshot)
	require.Zero(t, read)
	m.check(t, c)
	checkAccounting(t, c)
	requireSameValues(t, fullRead(t, dir).kd, c.kd)
}

// TestSnapshot_Stale_ReplaysWhatFollows emulates a crash after more work:
// the snapshot of an earlier Close is put back after a session that
// wrote, compacted and deleted segments. The open reads the snapshot and
// the records after it, and ends with what a full read finds.
func TestSnapshot_Stale_ReplaysWhatFollows(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed_", seed), func(t *testing.T) {
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(seed, 99))
			m := model{}
			c, _ := openObserved(t, dir)
			churn(t, c, m, rng, 300)
			require.NoError(t, c.Close(context.Background()))
			old, err := os.ReadFile(filepath.Join(dir, snapshotFileName))
			require.NoError(t, err)

			c, _ = openObserved(t, dir)
			churn(t, c, m, rng, 500)
			c.maintain()
			require.NoError(t, c.Close(context.Background()))
			require.NoError(t, os.WriteFile(filepath.Join(dir, snapshotFileName), old, 0o600))

			c, logs := openObserved(t, dir)
			m.check(t, c)
			checkAccounting(t, c)
			requireSameValues(t, fullRead(t, dir).kd, c.kd)
			fromSnapshot, read := openedFrom(t, logs)
			require.True(t, fromSnapshot, "segments deleted since a snapshot do not make it unusable")
			require.Positive(t, read, "the records after the snapshot are read")
		})
	}
}

// TestSnapshot_Unusable_FallsBackToFullRead damages or replaces the
// snapshot in every way that must not be trusted: the open reads the
// whole log, says why, and holds exactly the data.
func TestSnapshot_Unusable_FallsBackToFullRead(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(t *testing.T, path string)
	}{
		{"flipped_bit", func(t *testing.T, path string) { flipByte(t, path, 100) }},
		{"truncated", func(t *testing.T, path string) {
			info, err := os.Stat(path)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(path, info.Size()/2))
		}},
		{"empty", func(t *testing.T, path string) { require.NoError(t, os.WriteFile(path, nil, 0o600)) }},
		{"newer_version", func(t *testing.T, path string) { rewriteSnapshotByte(t, path, 4, snapshotVersion+1) }},
		{"a_directory", func(t *testing.T, path string) {
			require.NoError(t, os.Remove(path))
			require.NoError(t, os.Mkdir(path, 0o700))
		}},
		{"of_another_store", func(t *testing.T, path string) {
			other := t.TempDir()
			c, _ := openObserved(t, other)
			churn(t, c, model{}, rand.New(rand.NewPCG(7, 7)), 600)
			require.NoError(t, c.Close(context.Background()))
			b, err := os.ReadFile(filepath.Join(other, snapshotFileName))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, b, 0o600))
		}},
		{"log_ends_before_it", func(t *testing.T, path string) {
			segs, err := filepath.Glob(filepath.Join(filepath.Dir(path), "kv", "v1", "shard-0000", "*.comet"))
			require.NoError(t, err)
			active := segs[len(segs)-1]
			info, err := os.Stat(active)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(active, info.Size()-10))
			require.NoError(t, os.Remove(active[:len(active)-len(".comet")]+".index"))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c, _ := openObserved(t, dir)
			m := model{}
			churn(t, c, m, rand.New(rand.NewPCG(5, 6)), 600)
			require.NoError(t, c.Close(context.Background()))
			tc.spoil(t, filepath.Join(dir, snapshotFileName))
			if tc.name == "log_ends_before_it" {
				// The torn batch is lost; rebuild the model from the log.
				m = modelOf(t, fullRead(t, dir))
			}

			c, logs := openObserved(t, dir)
			fromSnapshot, _ := openedFrom(t, logs)
			require.False(t, fromSnapshot)
			require.NotEmpty(t, logs.FilterMessageSnippet("snapshot").FilterLevelExact(zap.WarnLevel).All(), "the fallback says why")
			m.check(t, c)
			checkAccounting(t, c)
		})
	}
}

// rewriteSnapshotByte sets one byte of a snapshot and fixes its checksum,
// as a writer of another version would have produced it.
func rewriteSnapshotByte(t *testing.T, path string, off int, v byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[off] = v
	body := b[:len(b)-4]
	sum := crc32.Checksum(body, snapshotCRC)
	copy(b[len(b)-4:], []byte{byte(sum), byte(sum >> 8), byte(sum >> 16), byte(sum >> 24)})
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// modelOf reads every live value of a client.
func modelOf(t *testing.T, c *client) model {
	t.Helper()
	m := model{}
	require.NoError(t, c.Walk(context.Background(), func(k string, v []byte) ([]*storage.Operation, error) {
		m[k] = v
		return nil, nil
	}))
	return m
}

// TestSnapshot_Periodic_BoundsWhatACrashReads: while the client runs, a
// snapshot is written once snapshotEvery bytes were appended, so an open
// of a crash image (the directory copied while the client is open) reads
// only what followed it.
func TestSnapshot_Periodic_BoundsWhatACrashReads(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	c, _ := openObserved(t, dir)
	value := bytes.Repeat([]byte("v"), 64<<10)
	m := model{}
	for i := range snapshotEvery/len(value) + 10 {
		key := fmt.Sprintf("item-%d", i)
		require.NoError(t, c.Set(ctx, key, value))
		m[key] = value
		if i%3 == 0 {
			require.NoError(t, c.Delete(ctx, key))
			delete(m, key)
		}
	}
	c.maintain()
	require.FileExists(t, filepath.Join(dir, snapshotFileName), "a snapshot once enough was appended")
	for i := range 20 {
		key := fmt.Sprintf("after-%d", i)
		require.NoError(t, c.Set(ctx, key, []byte("x")))
		m[key] = []byte("x")
	}

	crashed := t.TempDir()
	copyLiveDir(t, crashed, dir)
	require.NoError(t, os.Remove(filepath.Join(crashed, "comet.lock")))
	c2, logs := openObserved(t, crashed)
	fromSnapshot, read := openedFrom(t, logs)
	require.True(t, fromSnapshot)
	require.EqualValues(t, 20, read, "only the records after the snapshot are read")
	m.check(t, c2)
	checkAccounting(t, c2)
}

// FuzzReadSnapshot: whatever bytes sit in keydir.snapshot, reading it
// never panics nor allocates beyond the file's size, and what it accepts
// is a consistent key directory: every key points into a listed segment,
// within its record.
func FuzzReadSnapshot(f *testing.F) {
	kd := newKeydir()
	s := kd.segment(0)
	kd.addRecord(s, 300)
	kd.set("a", s, 0, 40, 25, 15)
	kd.del("b", kd.segment(10), 40, 30)
	infos := []log.SegmentInfo{{FirstEntry: 0, EndEntry: 10, Bytes: 300}}
	valid := snapshotBytes(&kd, infos, 10, log.Location{Segment: 0, Offset: 0, Size: 40}, 7)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte("CKDS"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, snapshotFileName), b, 0o600); err != nil {
			t.Fatal(err)
		}
		snap, err := readSnapshot(dir)
		if err != nil {
			return
		}
		live := 0
		for k, e := range snap.kd.keys {
			if snap.kd.byBase[e.seg] == nil || k == "" {
				t.Fatalf("accepted key %q pointing outside the listed segments", k)
			}
			if !e.tombstone() {
				live++
				if uint64(e.voff)+uint64(e.vlen) > uint64(e.size) {
					t.Fatalf("accepted key %q whose value lies outside its record", k)
				}
			}
		}
		if live != snap.kd.live {
			t.Fatalf("live count %d, %d live keys", snap.kd.live, live)
		}
	})
}
