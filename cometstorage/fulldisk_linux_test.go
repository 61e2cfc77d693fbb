// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build linux

package cometstorage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/comet-otel/comet/cometstorage/internal/metadata"
	"github.com/comet-otel/comet/internal/testfs"
)

// observedExtension is newTestExtension with a logger the test reads.
func observedExtension(t *testing.T, cfg *Config) (*storageExtension, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.InfoLevel)
	set := extensiontest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return ext.(*storageExtension), logs
}

// smallDiskElsewhere says what covers the full-disk tests where no tmpfs can be mounted.
const smallDiskElsewhere = "the testbed's TestFullDisk covers this end to end"

func settleDiskFullAt(t *testing.T, d time.Duration) {
	old := diskFullSettle
	diskFullSettle = d
	t.Cleanup(func() { diskFullSettle = old })
}

// On a full disk, writes that add keys are refused with ErrStorageFull, while reads,
// overwrites and deletes go on: every key can be read and deleted, and once the garbage is
// reclaimed keys are added again.
func TestClient_DiskFull_AddsRefusedReadsAndDeletesGoOn(t *testing.T) {
	settleDiskFullAt(t, 0)
	cfg := testConfig(testfs.Tmpfs(t, "512k", smallDiskElsewhere))
	cfg.Compaction.CheckInterval = 20 * time.Millisecond
	ext, logs := observedExtension(t, cfg)
	sc, err := ext.GetClient(context.Background(), component.KindExporter, testOwner, testStorageName)
	require.NoError(t, err)
	c := sc.(*client)
	ctx := context.Background()
	defer func() { require.NoError(t, c.Close(ctx)) }()
	value := make([]byte, 2000)
	var keys []string
	for i := 0; ; i++ {
		require.Less(t, i, 10_000, "the disk never filled")
		key := fmt.Sprintf("item-%06d", i)
		err := c.Batch(ctx, storage.SetOperation("meta", []byte{byte(i)}), storage.SetOperation(key, value))
		if err != nil {
			require.ErrorIs(t, err, storage.ErrStorageFull)
			break
		}
		keys = append(keys, key)
	}
	require.ErrorIs(t, c.Set(ctx, "one-more", value), storage.ErrStorageFull)
	require.Equal(t, 1, logs.FilterMessageSnippet("Disk full").Len(), "%v", logs.All())

	// The drain: each key read with a metadata update, then deleted with another.
	for i, key := range keys {
		get := storage.GetOperation(key)
		require.NoError(t, c.Batch(ctx, storage.SetOperation("meta", []byte{byte(i), 1}), get), "read %d of %d", i, len(keys))
		require.Equal(t, value, get.Value)
		require.NoError(t, c.Batch(ctx, storage.SetOperation("meta", []byte{byte(i), 2}), storage.DeleteOperation(key)), "delete %d of %d", i, len(keys))
	}
	// Adds may fit on the given-up reserve's credit before compaction takes the reserve
	// back; the episode ends with the first add accepted with the reserve held.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; logs.FilterMessageSnippet("Disk space available again").Len() == 0; i++ {
		require.True(t, time.Now().Before(deadline), "keys are still refused after the drain: %v", logs.All())
		if err := c.Set(ctx, fmt.Sprintf("after-%d", i), value); err != nil {
			require.ErrorIs(t, err, storage.ErrStorageFull)
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, 1, logs.FilterMessageSnippet("Disk space available again").Len(), "%v", logs.All())
	require.Zero(t, logs.FilterLevelExact(zapcore.WarnLevel).Len(), "%v", logs.All())
}

// The persistent queue on a full disk: new requests are refused with a retryable error, the
// queue drains everything it accepted once downstream is back (nothing skipped), and takes
// new requests again. Then the same with the queue restarted on the full disk.
func TestPersistentQueue_DiskFull_RefusesDrainsAndRecovers(t *testing.T) {
	settleDiskFullAt(t, 0)
	cfg := testConfig(testfs.Tmpfs(t, "4m", smallDiskElsewhere))
	cfg.SegmentSize = 256 << 10
	cfg.Compaction.CheckInterval = 20 * time.Millisecond
	ext, logs := observedExtension(t, cfg)
	rec := newRecorder()
	ctx := context.Background()

	var accepted []int
	next := 0
	rec.failing.Store(true)
	qcore, qlogs := observer.New(zapcore.InfoLevel)
	exp := startQueueExporterWith(t, ext, rec.push, zap.New(qcore))
	fillWith := func() {
		refusals := 0
		for ; refusals < 20; next++ {
			require.Less(t, next, 100_000, "the disk never filled")
			if err := exp.ConsumeLogs(ctx, makeRequest(next)); err != nil {
				require.ErrorIs(t, err, storage.ErrStorageFull)
				refusals++
				continue
			}
			accepted = append(accepted, next)
		}
	}
	defer func() {
		if exp != nil {
			require.NoError(t, exp.Shutdown(ctx))
		}
	}()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		rec.mu.Lock()
		var miss []int
		for _, id := range accepted {
			if rec.seen[id] == 0 {
				miss = append(miss, id)
			}
		}
		rec.mu.Unlock()
		seen := map[string]bool{}
		for _, e := range append(logs.All(), qlogs.All()...) {
			if !seen[e.Message] {
				seen[e.Message] = true
				t.Logf("logged: %s %s %v", e.Level, e.Message, e.ContextMap())
			}
		}
		t.Logf("%d of %d accepted requests not delivered: %s", len(miss), len(accepted), describeIDs(miss))
	})
	// unmoved is how many requests exporterhelper, starting on the full
	// disk, deleted and could not put back into the queue (see below).
	unmoved := func() int {
		n := 0
		for _, e := range qlogs.FilterMessageSnippet("Errors occurred while moving items").All() {
			n += int(e.ContextMap()["errorCount"].(int64))
		}
		return n
	}
	drained := func() {
		t.Helper()
		rec.waitFor(t, time.Minute, "every accepted request", func(seen map[int]int) bool {
			missing := 0
			for _, id := range accepted {
				if seen[id] == 0 {
					missing++
				}
			}
			return missing <= unmoved()
		})
	}
	acceptsAgain := func() {
		deadline := time.Now().Add(30 * time.Second)
		for exp.ConsumeLogs(ctx, makeRequest(next)) != nil {
			require.True(t, time.Now().Before(deadline), "new requests still refused after the drain")
			time.Sleep(20 * time.Millisecond)
		}
		accepted = append(accepted, next)
		next++
	}

	fillWith()
	require.Equal(t, 1, logs.FilterMessageSnippet("Disk full").Len(), "once per client: %v", logs.All())
	rec.failing.Store(false)
	drained()
	acceptsAgain()
	drained()

	// Fill again, stop the queue with requests in flight, start it on the full disk.
	rec.failing.Store(true)
	fillWith()
	require.NoError(t, exp.Shutdown(ctx))
	exp = startQueueExporterWith(t, ext, rec.push, zap.New(qcore)) // on the full disk
	rec.failing.Store(false)
	drained()
	acceptsAgain()
	drained()
	require.NoError(t, exp.Shutdown(ctx))
	exp = nil
	// "Failed retrieving item" is not among them: an offer the full disk refused leaves its
	// index without a value, and a restart that finds that index in flight says so (nothing
	// accepted is missing: checked above).
	for _, failure := range []string{"Error deleting item", "Failed updating currently dispatched"} {
		require.Zero(t, qlogs.FilterMessageSnippet(failure).Len(), "the queue's reads and deletes never failed: %v", qlogs.FilterMessageSnippet(failure).All())
	}
	// exporterhelper, when it starts, deletes the requests left in flight before it puts
	// them back under new keys. Started on a full disk, the puts that would eat the drain's
	// floor are refused (reserve.admits), and exporterhelper loses those requests and says
	// so: a known limit, documented in README.md. Only they may be missing.
	if n := unmoved(); n > 0 {
		t.Logf("exporterhelper could not put back %d requests left in flight at the restart on the full disk", n)
	}
}
