// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package alarm says a condition once when it starts and once when it ends, instead of once
// per event: a full disk refuses thousands of requests a second, and the operator needs one
// line saying why, then one saying it is over.
package alarm // import "github.com/comet-otel/comet/internal/alarm"

import (
	"sync"
	"sync/atomic"
	"time"
)

// Alarm tracks one condition. The zero value is off. Safe for concurrent use; Clear while
// the alarm is off costs one atomic load, so it can sit on a hot path.
type Alarm struct {
	on    atomic.Bool
	mu    sync.Mutex
	since time.Time // start of the episode
	last  time.Time // last Raise
	count int64     // Raises in the episode
}

// Raise notes one event of the condition (a refused request) and reports whether it started
// an episode: the caller then says why, once.
func (a *Alarm) Raise() (started bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	if !a.on.Load() {
		a.on.Store(true)
		a.since, a.count = now, 0
		started = true
	}
	a.last = now
	a.count++
	return started
}

// Clear notes that the condition did not occur (a request was accepted). The episode ends,
// and ended is true, only once no Raise came for settle: near the edge of a full disk some
// requests fit and others do not, and that is one episode, not one per flip. count is the
// number of Raises in the episode, lasted its duration.
func (a *Alarm) Clear(settle time.Duration) (count int64, lasted time.Duration, ended bool) {
	if !a.on.Load() {
		return 0, 0, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.on.Load() || time.Since(a.last) < settle {
		return 0, 0, false
	}
	a.on.Store(false)
	return a.count, time.Since(a.since), true
}

// On reports whether an episode is on.
func (a *Alarm) On() bool { return a.on.Load() }
