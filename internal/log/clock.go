// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"time"
)

// clock is the time the engine reads. Wall time stamps records: it is
// what SeekToTime and SegmentInfo times mean. Ages for retention (MaxAge,
// ForceDeleteAfter, sealing idle segments) are measured on the monotonic
// clock instead, so that a wall clock that jumps while the log is open
// (NTP setting a board without a battery-backed clock from 1970 to today,
// an operator moving it back) neither deletes fresh data as old nor keeps
// old data forever. At open, a segment's age is taken from the wall
// clock once: its newest record's time, counted as now when that time is
// in the future or before plausibleSince (a clock that was never set).
type clock interface {
	now() time.Time       // wall clock
	since() time.Duration // monotonic time since the client opened
}

// plausibleSince is the earliest record time taken at face value: this
// engine did not exist before it, so earlier times come from a wall clock
// that was not set.
var plausibleSince = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// systemClock is the operating system's clock.
type systemClock struct{ start time.Time }

func newSystemClock() systemClock { return systemClock{start: time.Now()} }

func (c systemClock) now() time.Time       { return time.Now() }
func (c systemClock) since() time.Duration { return time.Since(c.start) }

// writtenAt is the monotonic reading (see clock.since) that a segment
// loaded now, whose newest record was stamped maxTs, counts as the time
// of its last write.
func writtenAt(clk clock, maxTs int64) int64 {
	now := clk.since()
	if maxTs < plausibleSince {
		return int64(now)
	}
	age := clk.now().Sub(time.Unix(0, maxTs))
	return int64(now - max(age, 0))
}

// ageOf is how long ago seg was last written, now being a reading of the
// monotonic clock (clock.since).
func ageOf(seg *segment, now time.Duration) time.Duration {
	return now - time.Duration(seg.written.Load())
}
