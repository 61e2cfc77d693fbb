// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is a clock whose wall time a test can move without moving the
// monotonic time, as NTP or an operator moves a real one.
type fakeClock struct {
	mu   sync.Mutex
	wall time.Time
	mono time.Duration
}

func newFakeClock(wall time.Time) *fakeClock { return &fakeClock{wall: wall} }

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wall
}

func (f *fakeClock) since() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mono
}

// advance lets time pass: both clocks move.
func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wall = f.wall.Add(d)
	f.mono += d
}

// jump moves only the wall clock.
func (f *fakeClock) jump(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wall = f.wall.Add(d)
}

// openWithClock opens dir on clk and closes it at the end of the test.
func openWithClock(t *testing.T, dir string, cfg CometConfig, clk clock) *Client {
	t.Helper()
	c, err := newClient(dir, cfg, clk)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

const clockStream = "clk:v1:shard:0000"

// clockConfig: small segments, retention only when the test runs it.
func clockConfig() CometConfig {
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 1024
	cfg.Retention.CleanupInterval = time.Hour
	return cfg
}

var today = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func TestClock_WallJumpsForward_ForceDeleteAfterKeepsUnconsumedData(t *testing.T) {
	clk := newFakeClock(today)
	cfg := clockConfig()
	cfg.Retention.MaxAge = time.Minute // the trigger; unconsumed data waits for ForceDeleteAfter
	cfg.Retention.ForceDeleteAfter = time.Hour
	c := openWithClock(t, t.TempDir(), cfg, clk)
	appendN(t, c, clockStream, 50, 100, 1)
	segs := c.GetStats().SegmentCount

	clk.jump(10 * 365 * 24 * time.Hour)
	c.ForceRetentionCleanup()
	require.Equal(t, segs, c.GetStats().SegmentCount, "a wall clock ten years ahead makes nothing old")
	require.Zero(t, c.GetStats().DroppedUnconsumed)

	clk.advance(time.Hour + time.Minute)
	c.ForceRetentionCleanup()
	require.Less(t, c.GetStats().SegmentCount, segs, "an hour later, ForceDeleteAfter applies")
	require.Positive(t, c.GetStats().DroppedUnconsumed, "and counts what it dropped")
}

func TestClock_WallJumpsBack_MaxAgeStillExpiresConsumedData(t *testing.T) {
	clk := newFakeClock(today)
	cfg := clockConfig()
	cfg.Retention.MaxAge = time.Hour
	c := openWithClock(t, t.TempDir(), cfg, clk)
	appendN(t, c, clockStream, 50, 100, 1)
	drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "clk:v1:shard:*"}), 100)
	segs := c.GetStats().SegmentCount

	clk.jump(-10 * 365 * 24 * time.Hour)
	clk.advance(2 * time.Hour)
	c.ForceRetentionCleanup()
	require.Equal(t, int64(1), c.GetStats().SegmentCount, "consumed segments older than MaxAge go, whatever the wall clock says (from %d)", segs)
}

func TestClock_WallJumpsBack_IdleConsumedActiveSegmentIsSealedAndDeleted(t *testing.T) {
	clk := newFakeClock(today)
	cfg := clockConfig()
	cfg.Storage.MaxFileSize = 1 << 20
	cfg.Retention.DeleteConsumed = true
	c := openWithClock(t, t.TempDir(), cfg, clk)
	appendN(t, c, clockStream, 20, 100, 1)
	drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "clk:v1:shard:*"}), 100)
	require.Positive(t, c.GetStats().DiskUsage)

	clk.jump(-24 * time.Hour)
	clk.advance(2 * idleSealAfter)
	c.ForceRetentionCleanup()
	require.Zero(t, c.GetStats().DiskUsage, "the consumed data is idle on the monotonic clock, and goes")
}

// TestClock_UnsetClockAtWrite_IsNotOldAtTheNextOpen: a device without a
// battery-backed clock writes with a wall clock in 1970, then restarts
// once NTP set it. Records stamped before plausibleSince count as
// written when the log opened, not as 56 years old.
func TestClock_UnsetClockAtWrite_IsNotOldAtTheNextOpen(t *testing.T) {
	dir := t.TempDir()
	cfg := clockConfig()
	cfg.Retention.MaxAge = time.Minute // the trigger; unconsumed data waits for ForceDeleteAfter
	cfg.Retention.ForceDeleteAfter = time.Hour
	c, err := newClient(dir, cfg, newFakeClock(time.Unix(3600, 0)))
	require.NoError(t, err)
	appendN(t, c, clockStream, 50, 100, 1)
	segs := c.GetStats().SegmentCount
	require.NoError(t, c.Close())

	clk := newFakeClock(today)
	c = openWithClock(t, dir, cfg, clk)
	c.ForceRetentionCleanup()
	require.Equal(t, segs, c.GetStats().SegmentCount)
	clk.advance(time.Hour + time.Minute)
	c.ForceRetentionCleanup()
	require.Less(t, c.GetStats().SegmentCount, segs)
}

// TestClock_WallJumps_SeekToTimeNeverLandsPastAnEntry: SeekToTime goes to
// the first entry, in log order, stamped at or after the time asked,
// also when the wall clock went back or forward between appends, in the
// writer that saw it and after a reopen.
func TestClock_WallJumps_SeekToTimeNeverLandsPastAnEntry(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock(today)
	cfg := clockConfig()
	cfg.Storage.MaxFileSize = 1 << 20
	cfg.Indexing.BoundaryInterval = 1
	c, err := newClient(dir, cfg, clk)
	require.NoError(t, err)
	// Entry times: 0s, 100s, then the clock goes back 150s: -50s, -40s,
	// then forward a year: 1y-40s.
	steps := []time.Duration{0, 100 * time.Second, -150 * time.Second, 10 * time.Second, 365 * 24 * time.Hour}
	for i, d := range steps {
		clk.jump(d)
		_, err := c.Append(context.Background(), clockStream, [][]byte{payload(0, i, 50)})
		require.NoError(t, err)
	}
	cases := []struct {
		at   time.Duration // from today
		want int64
	}{
		{-time.Hour, 0},
		{50 * time.Second, 1}, // 100s, which comes before -50s and -40s in the log
		{-45 * time.Second, 0},
		{200 * time.Second, 4},
		{400 * 24 * time.Hour, 5},
	}
	check := func(c *Client) {
		cons := NewConsumer(c, ConsumerOptions{Group: "seek", Stream: "clk:v1:shard:*"})
		defer cons.Close()
		for _, tc := range cases {
			require.NoError(t, cons.SeekToTime(context.Background(), 0, today.Add(tc.at)))
			lag, err := cons.GetLag(context.Background(), 0)
			require.NoError(t, err)
			require.Equal(t, int64(len(steps))-tc.want, lag, "seek to today%+v", tc.at)
		}
	}
	check(c)
	require.NoError(t, c.Close())
	check(openWithClock(t, dir, cfg, clk))
}
