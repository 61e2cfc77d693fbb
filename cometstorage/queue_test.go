// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
)

// queueRequests is how many requests the queue tests offer: 100k, fewer
// in -short mode and under the race detector.
func queueRequests() int {
	switch {
	case testing.Short():
		return 5_000
	case raceEnabled:
		return 20_000
	}
	return 100_000
}

// TestPersistentQueue_OutageThenRecovery offers every request while the
// downstream fails, then lets it recover: all are delivered, and the
// store gives its disk back once the backlog is gone.
func TestPersistentQueue_OutageThenRecovery(t *testing.T) {
	n := queueRequests()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.SegmentSize = 4 << 20
	ext := newTestExtension(t, cfg)
	rec := newRecorder()
	rec.failing.Store(true)
	exp := startQueueExporter(t, ext, rec.push)

	start := time.Now()
	offer(t, exp, 0, n, 4)
	backlog := diskBytes(t, dir)
	t.Logf("%d requests queued in %s during the outage; %d bytes on disk", n, time.Since(start), backlog)
	rec.failing.Store(false)
	rec.waitFor(t, 2*time.Minute, "all requests", func(seen map[int]int) bool { return len(seen) == n })
	rec.mu.Lock()
	require.Empty(t, missing(rec.seen, n))
	t.Logf("all delivered %s after the first offer; %d duplicates", time.Since(start), duplicates(rec.seen))
	rec.mu.Unlock()
	require.NoError(t, exp.Shutdown(context.Background()))

	// The drained queue's client, reopened: one key (the queue's metadata)
	// and, after a compaction round, almost no disk.
	c, err := ext.GetClient(context.Background(), component.KindExporter, queueExporterID, "logs")
	require.NoError(t, err)
	cl := c.(*client)
	cl.maintain()
	cl.maintain()
	keys, disk := cl.usage()
	t.Logf("after the drain: %d keys, %d bytes in %d segments (backlog was %d bytes)", keys, disk, len(cl.kd.segs), backlog)
	require.EqualValues(t, 1, keys)
	require.LessOrEqual(t, len(cl.kd.segs), 2)
	require.Less(t, disk, int64(1<<20))
	require.NoError(t, c.Close(context.Background()))
}

// TestPersistentQueue_RestartMidStream shuts the exporter (and the
// extension) down while a backlog is being delivered, restarts both on the
// same directory and offers the rest: every request arrives.
func TestPersistentQueue_RestartMidStream(t *testing.T) {
	n := queueRequests()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.SegmentSize = 4 << 20
	rec := newRecorder()

	ext := newTestExtension(t, cfg)
	rec.failing.Store(true)
	exp := startQueueExporter(t, ext, rec.push)
	offer(t, exp, 0, n/2, 4)
	rec.failing.Store(false)
	rec.waitFor(t, time.Minute, "a quarter of the requests", func(seen map[int]int) bool { return len(seen) >= n/4 })
	require.NoError(t, exp.Shutdown(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))
	delivered := rec.distinct()
	t.Logf("shut down with %d of %d offered requests delivered", delivered, n/2)
	require.Less(t, delivered, n/2, "the restart should happen with a backlog")

	ext = newTestExtension(t, cfg)
	exp = startQueueExporter(t, ext, rec.push)
	offer(t, exp, n/2, n, 4)
	rec.waitFor(t, 2*time.Minute, "all requests", func(seen map[int]int) bool { return len(seen) == n })
	require.NoError(t, exp.Shutdown(context.Background()))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Empty(t, missing(rec.seen, n))
	dups := duplicates(rec.seen)
	t.Logf("all %d delivered; %d duplicates (requests in flight at shutdown)", n, dups)
	require.LessOrEqual(t, dups, 100)
}
