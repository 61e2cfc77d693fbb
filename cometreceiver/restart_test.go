// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	restartRequests = 10000
	restartItems    = 2 // log records per request
)

// writeLogs runs an exporter that appends n requests (seq 0..n-1) to dir
// and shuts down, as a collector that stops would.
func writeLogs(t *testing.T, dir string, n int) {
	t.Helper()
	exp, s := startLogsExporter(t, exporterConfig(dir))
	for seq := range n {
		require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(seq, restartItems)))
	}
	require.NoError(t, s.stop())
}

func TestRestart_FreshReceiverDeliversEverything(t *testing.T) {
	dir := t.TempDir()
	writeLogs(t, dir, restartRequests)

	sink := newSeqSink()
	r := startLogsReceiver(t, receiverSettings(), receiverConfig(dir), sink)
	eventually(t, 30*time.Second, func() bool { return sink.distinct() == restartRequests }, "all requests delivered")
	require.NoError(t, r.stop())
	counts, total := sink.snapshot()
	assert.Equal(t, restartRequests, total, "no duplicates without a restart")
	for seq := range restartRequests {
		require.Equal(t, 1, counts[seq], "request %d", seq)
	}
}

func TestRestart_StoppedHalfWayResumesWithoutLoss(t *testing.T) {
	dir := t.TempDir()
	writeLogs(t, dir, restartRequests)
	cfg := receiverConfig(dir)

	first := newSeqSink()
	r1 := startLogsReceiver(t, receiverSettings(), cfg, first)
	eventually(t, 30*time.Second, func() bool { return first.distinct() >= restartRequests/2 }, "half delivered")
	require.NoError(t, r1.stop())
	firstCounts, firstTotal := first.snapshot()
	require.Less(t, len(firstCounts), restartRequests, "the first receiver must stop before the end for this test")

	second := newSeqSink()
	r2 := startLogsReceiver(t, receiverSettings(), cfg, second)
	eventually(t, 30*time.Second, func() bool {
		c, _ := second.snapshot()
		for seq := range restartRequests {
			if firstCounts[seq] == 0 && c[seq] == 0 {
				return false
			}
		}
		return true
	}, "the rest delivered after the restart")
	time.Sleep(100 * time.Millisecond) // let anything extra arrive
	require.NoError(t, r2.stop())

	secondCounts, secondTotal := second.snapshot()
	duplicates := 0
	for seq := range restartRequests {
		n := firstCounts[seq] + secondCounts[seq]
		require.GreaterOrEqual(t, n, 1, "request %d lost", seq)
		duplicates += n - 1
	}
	assert.Equal(t, firstTotal+secondTotal, restartRequests+duplicates)
	// Only a request in flight at the stop may come again: at most one
	// merged request per worker.
	assert.LessOrEqual(t, duplicates, cfg.Batch.MaxItems/restartItems*cfg.Workers)
	t.Logf("first receiver delivered %d, second %d, duplicates %d", firstTotal, secondTotal, duplicates)
}

func TestRestart_StartAtLatestSkipsTheBacklogOfANewGroup(t *testing.T) {
	dir := t.TempDir()
	writeLogs(t, dir, 100)
	exp, _ := startLogsExporter(t, exporterConfig(dir))
	cfg := receiverConfig(dir)
	cfg.StartAt = StartAtLatest
	sink := newSeqSink()
	startLogsReceiver(t, receiverSettings(), cfg, sink)
	for seq := 100; seq < 110; seq++ {
		require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(seq, 1)))
	}
	eventually(t, 10*time.Second, func() bool { return sink.distinct() == 10 }, "new records delivered")
	time.Sleep(50 * time.Millisecond)
	counts, _ := sink.snapshot()
	for seq := range counts {
		assert.GreaterOrEqual(t, seq, 100, "record %d was appended before the group existed", seq)
	}
}

func TestRestart_StartAtTimeReplaysFromThatTime(t *testing.T) {
	dir := t.TempDir()
	exp, _ := startLogsExporter(t, exporterConfig(dir))
	for seq := range 50 {
		require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(seq, 1)))
	}
	time.Sleep(20 * time.Millisecond)
	from := time.Now()
	time.Sleep(20 * time.Millisecond)
	for seq := 50; seq < 100; seq++ {
		require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(seq, 1)))
	}

	for _, tc := range []struct {
		group   string
		startAt StartAt
		first   int
	}{
		{"replay-window", StartAt(from.UTC().Format(time.RFC3339Nano)), 50},
		{"replay-all", "-1h", 0},
	} {
		t.Run(tc.group, func(t *testing.T) {
			cfg := receiverConfig(dir)
			cfg.Group, cfg.StartAt = tc.group, tc.startAt
			sink := newSeqSink()
			startLogsReceiver(t, receiverSettings(), cfg, sink)
			eventually(t, 10*time.Second, func() bool { return sink.distinct() == 100-tc.first }, "the window delivered")
			time.Sleep(50 * time.Millisecond)
			counts, total := sink.snapshot()
			assert.Equal(t, 100-tc.first, total)
			for seq := range counts {
				assert.GreaterOrEqual(t, seq, tc.first, "record %d was appended before start_at", seq)
			}
		})
	}
}
