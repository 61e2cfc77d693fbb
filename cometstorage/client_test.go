// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/comet-otel/comet/internal/log"
)

// model is what the store should hold.
type model map[string][]byte

func (m model) check(t *testing.T, c *client) {
	t.Helper()
	ctx := context.Background()
	for k, want := range m {
		got, err := c.Get(ctx, k)
		require.NoError(t, err)
		require.Equal(t, want, got, "key %q", k)
	}
	keys, _ := c.usage()
	require.EqualValues(t, len(m), keys, "live keys")
	seen := 0
	require.NoError(t, c.Walk(ctx, func(k string, v []byte) ([]*storage.Operation, error) {
		seen++
		require.Equal(t, m[k], v, "walked key %q", k)
		return nil, nil
	}))
	require.Equal(t, len(m), seen)
}

// checkAccounting recomputes every segment's counts from the key
// directory and compares them with the incremental ones.
func checkAccounting(t *testing.T, c *client) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	type counts struct{ sets, tombs, bytes int64 }
	want := map[int64]*counts{}
	live := 0
	for k, e := range c.kd.keys {
		s := c.kd.byBase[e.seg]
		require.NotNil(t, s, "key %q points at a deleted segment %d", k, e.seg)
		if want[e.seg] == nil {
			want[e.seg] = &counts{}
		}
		if e.tombstone() {
			want[e.seg].tombs++
			require.True(t, c.kd.needed(e.oldest, e.seg), "tombstone of %q kept but not needed", k)
		} else {
			want[e.seg].sets++
			live++
		}
		want[e.seg].bytes += e.cost(k)
	}
	require.Equal(t, live, c.kd.live)
	var disk int64
	for _, s := range c.kd.segs {
		w := want[s.base]
		if w == nil {
			w = &counts{}
		}
		require.Equal(t, *w, counts{s.liveSets, s.liveTombs, s.liveBytes}, "segment %d", s.base)
		disk += s.bytes
	}
	require.Equal(t, disk, c.kd.disk)
}

// TestClient_RandomOperations_MatchModel drives random batches over a
// small key space with small segments, compacting and reopening often,
// and compares the store with a map after every phase. Tombstones that
// were dropped too early would bring deleted keys back at a reopen.
func TestClient_RandomOperations_MatchModel(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Sync.Mode = SyncNone
	cfg.Compaction.Ratio = 0.3
	rng := rand.New(rand.NewPCG(1, 2))
	m := model{}
	rounds := 30
	if testing.Short() {
		rounds = 10
	}
	for round := range rounds {
		ext := newTestExtension(t, cfg)
		sc, err := ext.GetClient(ctx, component.KindExporter, testOwner, testStorageName)
		require.NoError(t, err)
		c := sc.(*client)
		m.check(t, c)
		checkAccounting(t, c)
		for range 400 {
			var ops []*storage.Operation
			for range 1 + rng.IntN(4) {
				// Hot keys churn; cold keys are mostly set once and
				// deleted late, so their tombstones land in segments of
				// hot garbage while their values sit in older segments.
				key, deletes := fmt.Sprintf("hot-%d", rng.IntN(20)), 4
				if rng.IntN(3) == 0 {
					key, deletes = fmt.Sprintf("cold-%d", rng.IntN(3000)), 2
				}
				switch op := rng.IntN(10); {
				case op < deletes:
					ops = append(ops, storage.DeleteOperation(key))
				case op == deletes:
					ops = append(ops, storage.GetOperation(key))
				default:
					v := bytes.Repeat([]byte{byte(rng.Uint32())}, rng.IntN(600))
					ops = append(ops, storage.SetOperation(key, v))
				}
			}
			require.NoError(t, c.Batch(ctx, ops...))
			for _, op := range ops {
				switch op.Type {
				case storage.Set:
					m[op.Key] = append([]byte{}, op.Value...)
				case storage.Delete:
					delete(m, op.Key)
				}
			}
			if rng.IntN(50) == 0 {
				c.maintain()
				checkAccounting(t, c)
			}
		}
		c.maintain()
		checkAccounting(t, c)
		m.check(t, c)
		require.NoError(t, c.Close(ctx), "round %d", round)
	}
	c := openTestClient(t, cfg)
	m.check(t, c)
	// Everything but the live data can be reclaimed.
	for range 3 {
		c.maintain()
	}
	checkAccounting(t, c)
	m.check(t, c)
	var live int64
	for k, v := range m {
		live += int64(len(k) + len(v))
	}
	_, disk := c.usage()
	t.Logf("live data %d bytes, disk %d bytes in %d segments", live, disk, len(segmentFiles(t, dir)))
	require.Less(t, disk, 3*live+2*minSegmentSize)
}

// TestClient_Tombstone_OutlivesOlderRecords sets up the case that
// resurrects keys in careless log-structured stores: a key set in an old
// segment that stays (it holds other live keys), deleted in a later
// segment that is otherwise garbage. Compacting the later segment must
// carry the tombstone forward.
func TestClient_Tombstone_OutlivesOlderRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(dir)
	c := openTestClient(t, cfg)
	filler := bytes.Repeat([]byte("f"), 1000)
	require.NoError(t, c.Set(ctx, "victim", []byte("old value")))
	for i := range 50 { // live keys that keep the first segment
		require.NoError(t, c.Set(ctx, fmt.Sprint("keep-", i), filler))
	}
	for range 100 { // garbage: the first segment fills up, the next starts
		require.NoError(t, c.Set(ctx, "churn", filler))
	}
	require.NoError(t, c.Delete(ctx, "victim"))
	for range 200 { // garbage around the tombstone
		require.NoError(t, c.Set(ctx, "churn", filler))
	}
	require.GreaterOrEqual(t, len(segmentFiles(t, dir)), 3)
	for range 3 {
		c.maintain()
	}
	requireValue(t, c, "victim", nil)
	checkAccounting(t, c)
	require.NoError(t, c.Close(ctx))

	c = openTestClient(t, cfg)
	requireValue(t, c, "victim", nil)
	requireValue(t, c, "keep-7", filler)
	requireValue(t, c, "churn", filler)
}

// TestClient_QueuePattern_DiskReturnsAfterDrain builds a backlog the way
// exporterhelper's persistent queue does, drains it, and expects the
// store to shrink to its live data.
func TestClient_QueuePattern_DiskReturnsAfterDrain(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Sync.Mode = SyncNone
	cfg.SegmentSize = 1 << 20
	c := openTestClient(t, cfg)
	item := bytes.Repeat([]byte("i"), 1200)
	const n = 20000
	meta := func(i int) *storage.Operation { return storage.SetOperation("qmv0", fmt.Appendf(nil, "meta %d", i)) }
	for i := range n {
		require.NoError(t, c.Batch(ctx, meta(i), storage.SetOperation(fmt.Sprint(i), item)))
	}
	peak := diskBytes(t, dir)
	for i := range n {
		get := storage.GetOperation(fmt.Sprint(i))
		require.NoError(t, c.Batch(ctx, meta(i), get))
		require.Equal(t, item, get.Value)
		require.NoError(t, c.Batch(ctx, meta(i), storage.DeleteOperation(fmt.Sprint(i))))
		if i%5000 == 0 {
			c.maintain()
		}
	}
	c.maintain() // the active segment is idle and dead now: sealed, then deleted
	c.maintain()
	checkAccounting(t, c)
	keys, disk := c.usage()
	require.EqualValues(t, 1, keys)
	files := segmentFiles(t, dir)
	t.Logf("peak %d bytes; after drain %d bytes in %d segment files (%d on disk with indexes)", peak, disk, len(files), diskBytes(t, dir))
	require.LessOrEqual(t, len(files), 2)
	require.Less(t, disk, int64(64<<10))
	requireValue(t, c, "qmv0", fmt.Appendf(nil, "meta %d", n-1))
	require.NoError(t, c.Close(ctx))
	c = openTestClient(t, cfg)
	requireValue(t, c, "qmv0", fmt.Appendf(nil, "meta %d", n-1))
	requireValue(t, c, "0", nil)
	requireValue(t, c, fmt.Sprint(n-1), nil)
}

// TestClient_MaxSize_FullThenDrains fills a store to max_size: new keys
// are refused with storage.ErrStorageFull, while overwrites, reads and
// deletes go on, so a full queue can drain; compaction then makes room.
func TestClient_MaxSize_FullThenDrains(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.MaxSize = 4 * minSegmentSize
	c := openTestClient(t, cfg)
	value := bytes.Repeat([]byte("v"), 4000)
	var stored int
	for ; ; stored++ {
		err := c.Batch(ctx, storage.SetOperation("qmv0", []byte("meta")), storage.SetOperation(fmt.Sprint(stored), value))
		if err != nil {
			require.ErrorIs(t, err, storage.ErrStorageFull)
			break
		}
	}
	require.Positive(t, stored)
	_, disk := c.usage()
	require.LessOrEqual(t, disk, cfg.MaxSize)
	for i := range stored { // read and delete everything, updating meta
		get := storage.GetOperation(fmt.Sprint(i))
		require.NoError(t, c.Batch(ctx, storage.SetOperation("qmv0", []byte("meta read")), get))
		require.Equal(t, value, get.Value)
		require.NoError(t, c.Batch(ctx, storage.SetOperation("qmv0", []byte("meta done")), storage.DeleteOperation(fmt.Sprint(i))))
	}
	c.maintain()
	c.maintain()
	require.NoError(t, c.Set(ctx, "fits again", value))
	_, disk = c.usage()
	require.Less(t, disk, cfg.MaxSize/2)
}

// TestClient_ConcurrentCompaction runs writers while compaction rounds
// run back to back, under the race detector in CI.
func TestClient_ConcurrentCompaction(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t.TempDir())
	cfg.Sync.Mode = SyncNone
	c := openTestClient(t, cfg)
	stop := make(chan struct{})
	var compactor sync.WaitGroup
	compactor.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				c.maintain()
			}
		}
	})
	var writers sync.WaitGroup
	results := make([]model, 4)
	for w := range results {
		results[w] = model{}
		writers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range 3000 {
				key := fmt.Sprintf("w%d-%d", w, rng.IntN(100))
				if i%3 == 0 {
					assert.NoError(t, c.Delete(ctx, key))
					delete(results[w], key)
					continue
				}
				v := fmt.Appendf(nil, "%s=%d%s", key, i, strings.Repeat("x", rng.IntN(300)))
				assert.NoError(t, c.Set(ctx, key, v))
				results[w][key] = v
				got, err := c.Get(ctx, key)
				assert.NoError(t, err)
				assert.Equal(t, v, got)
			}
		})
	}
	writers.Wait()
	close(stop)
	compactor.Wait()
	all := model{}
	for _, r := range results {
		for k, v := range r {
			all[k] = v
		}
	}
	all.check(t, c)
	checkAccounting(t, c)
}

func TestExtension_GetClient_TwiceFails(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ext := newTestExtension(t, testConfig(dir))
	c, err := ext.GetClient(ctx, component.KindExporter, testOwner, testStorageName)
	require.NoError(t, err)
	_, err = ext.GetClient(ctx, component.KindExporter, testOwner, testStorageName)
	require.ErrorContains(t, err, "already open")

	// Another extension on the same directory in the same process.
	other := newTestExtension(t, testConfig(dir))
	_, err = other.GetClient(ctx, component.KindExporter, testOwner, testStorageName)
	require.ErrorContains(t, err, "already open")

	// Other names are other clients.
	c2, err := ext.GetClient(ctx, component.KindExporter, testOwner, "traces")
	require.NoError(t, err)
	c3, err := ext.GetClient(ctx, component.KindReceiver, testOwner, testStorageName)
	require.NoError(t, err)
	require.NoError(t, c.Set(ctx, "k", []byte("1")))
	requireValue(t, c2, "k", nil)
	requireValue(t, c3, "k", nil)

	require.NoError(t, c.Close(ctx))
	c, err = ext.GetClient(ctx, component.KindExporter, testOwner, testStorageName)
	require.NoError(t, err)
	requireValue(t, c, "k", []byte("1"))
	require.NoError(t, c2.Close(ctx))
	// c and c3 are left open: Shutdown closes them.
}

func TestExtension_Shutdown_ClosesLeftOverClients(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t.TempDir())
	ext, err := NewFactory().Create(ctx, extensionSettings(), cfg)
	require.NoError(t, err)
	c, err := ext.(storage.Extension).GetClient(ctx, component.KindExporter, testOwner, testStorageName)
	require.NoError(t, err)
	require.NoError(t, ext.Shutdown(ctx))
	_, err = c.Get(ctx, "k")
	require.ErrorIs(t, err, errClientClosed)
}

func TestExtension_Start_DirectoryIsAFile(t *testing.T) {
	file := t.TempDir() + "/file"
	require.NoError(t, writeFile(file))
	ext, err := NewFactory().Create(context.Background(), extensionSettings(), testConfig(file))
	require.NoError(t, err)
	require.ErrorContains(t, ext.Start(context.Background(), nil), "not a directory")
	require.NoError(t, ext.Shutdown(context.Background()))
}

func TestClient_Batch_Errors(t *testing.T) {
	ctx := context.Background()
	c := openTestClient(t, testConfig(t.TempDir()))
	require.ErrorIs(t, c.Set(ctx, "", nil), errEmptyKey)
	require.ErrorIs(t, c.Set(ctx, strings.Repeat("k", MaxKeySize+1), nil), errKeyTooLarge)
	require.NoError(t, c.Set(ctx, strings.Repeat("k", MaxKeySize), nil))
	require.Error(t, c.Batch(ctx, nil))
	require.NoError(t, c.Batch(ctx))
	huge := make([]byte, maxRecordSize/2+1)
	err := c.Batch(ctx, storage.SetOperation("a", huge), storage.SetOperation("b", huge))
	require.ErrorIs(t, err, errBatchTooLarge)
	requireValue(t, c, "a", nil)
	require.True(t, errors.Is(c.Close(ctx), nil))
	require.NoError(t, c.Close(ctx), "Close twice")
}

// TestClient_DeletedSegmentsAreNotHeldOpen reads from segments that
// compaction then deletes: the descriptors the engine keeps open for reads
// must not keep their space allocated.
func TestClient_DeletedSegmentsAreNotHeldOpen(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("lists open files through /proc/self/fd")
	}
	ctx := context.Background()
	dir := t.TempDir()
	c := openTestClient(t, testConfig(dir))
	value := bytes.Repeat([]byte("v"), 2000)
	for i := range 300 {
		require.NoError(t, c.Set(ctx, fmt.Sprint(i), value))
	}
	for i := range 300 { // open descriptors on every segment
		requireValue(t, c, fmt.Sprint(i), value)
	}
	require.Greater(t, len(openFiles(t, dir)), 2, "reads keep segment descriptors open")
	for i := range 300 {
		require.NoError(t, c.Delete(ctx, fmt.Sprint(i)))
	}
	c.maintain()
	c.maintain()
	require.LessOrEqual(t, len(segmentFiles(t, dir)), 2)
	for _, f := range openFiles(t, dir) {
		require.NotContains(t, f, "(deleted)")
	}
}

// openFiles lists the files under dir this process holds open, as
// /proc/self/fd names them (a deleted file ends in " (deleted)").
func openFiles(t *testing.T, dir string) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	var files []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir) {
			files = append(files, target)
		}
	}
	return files
}

// TestExtension_GetClient_DirectoryLockedElsewhere: another writer (here
// the engine opened directly, as another process would) holds the
// client's directory.
func TestExtension_GetClient_DirectoryLockedElsewhere(t *testing.T) {
	dir := t.TempDir()
	other, err := log.NewClientWithConfig(clientDir(dir), engineConfig(clientSettings{segmentSize: minSegmentSize, dirMode: 0o700}))
	require.NoError(t, err)
	defer other.Close()
	ext := newTestExtension(t, testConfig(dir))
	_, err = ext.GetClient(context.Background(), component.KindExporter, testOwner, testStorageName)
	require.ErrorIs(t, err, log.ErrLocked)
	require.ErrorContains(t, err, "in use by another process")
}

// TestEngineConfig_RetentionNeverDeletes: the client alone decides which
// segments go; the engine's retention, run by force, must keep them all.
func TestEngineConfig_RetentionNeverDeletes(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []SyncMode{SyncNone, SyncInterval, SyncAlways} {
		eng, err := log.NewClientWithConfig(t.TempDir(), engineConfig(clientSettings{
			segmentSize: minSegmentSize, dirMode: 0o700, sync: SyncConfig{Mode: mode, Interval: time.Second},
		}))
		require.NoError(t, err)
		for range 5 {
			_, err := eng.AppendLocated(ctx, stream, [][]byte{bytes.Repeat([]byte("x"), 1000)})
			require.NoError(t, err)
			require.NoError(t, eng.Rotate(stream))
		}
		eng.ForceRetentionCleanup()
		segs, err := eng.Segments(stream)
		require.NoError(t, err)
		require.Len(t, segs, 6, "sync mode %s", mode)
		require.NoError(t, eng.Close())
	}
}

// TestClient_SyncNone_FsyncsOnlyBeforeDeletion: under none nothing is
// fsynced while writing, not even when a segment is sealed; the fsync that
// precedes a deletion covers every segment sealed since, so what
// superseded the deleted records is on stable storage before they go.
func TestClient_SyncNone_FsyncsOnlyBeforeDeletion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Sync.Mode = SyncNone
	c := openTestClient(t, cfg)
	value := bytes.Repeat([]byte("v"), 2000)
	for i := range 300 {
		require.NoError(t, c.Set(ctx, fmt.Sprint(i), value))
	}
	for i := range 300 {
		require.NoError(t, c.Delete(ctx, fmt.Sprint(i)))
	}
	before := c.eng.GetStats()
	require.Zero(t, before.Fsyncs, "no fsync on the write path")
	require.Greater(t, before.Rotations, int64(5))
	c.maintain()
	require.LessOrEqual(t, len(segmentFiles(t, dir)), 2, "the dead segments were deleted")
	require.GreaterOrEqual(t, c.eng.GetStats().Fsyncs, before.Rotations+1,
		"every sealed segment and the active one were fsynced before the deletion")
}

// TestEngineConfig_SyncModes: the engine fsyncs on its own only under
// interval; under always the client syncs after each batch.
func TestEngineConfig_SyncModes(t *testing.T) {
	for mode, want := range map[SyncMode]log.DurabilityConfig{
		SyncNone:     {Mode: log.SyncNone},
		SyncInterval: {Mode: log.SyncInterval, Interval: 3 * time.Second},
		SyncAlways:   {Mode: log.SyncNone},
	} {
		got := engineConfig(clientSettings{sync: SyncConfig{Mode: mode, Interval: 3 * time.Second}}).Durability
		require.Equal(t, want, got, "sync mode %s", mode)
	}
}

// TestClient_HugeValue_IsRefusedAndStoreKeepsWorking: a value whose batch
// would exceed the record limit is refused before anything is copied or
// written; a large value under it round-trips.
func TestClient_HugeValue_IsRefusedAndStoreKeepsWorking(t *testing.T) {
	ctx := context.Background()
	c := openTestClient(t, testConfig(t.TempDir()))
	require.NoError(t, c.Set(ctx, "before", []byte("v")))
	// make does not touch the pages of a large zeroed slice: no memory
	// is spent on the refused value.
	err := c.Set(ctx, "huge", make([]byte, maxRecordSize))
	require.ErrorIs(t, err, errBatchTooLarge)
	got, err := c.Get(ctx, "huge")
	require.NoError(t, err)
	require.Nil(t, got)
	large := bytes.Repeat([]byte("large "), (8<<20)/6)
	require.NoError(t, c.Set(ctx, "large", large))
	model{"before": []byte("v"), "large": large}.check(t, c)
}
