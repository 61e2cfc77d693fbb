// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"time"
)

// backoff is the retry schedule of one record: exponential from
// initial_interval up to max_interval, until max_elapsed_time (0: never).
type backoff struct {
	cfg   *RetryConfig
	start time.Time
	next  time.Duration
}

func newBackoff(cfg *RetryConfig) *backoff {
	return &backoff{cfg: cfg, start: time.Now(), next: cfg.InitialInterval}
}

// expired reports whether max_elapsed_time has passed since the first
// attempt.
func (b *backoff) expired() bool {
	return b.cfg.MaxElapsedTime > 0 && time.Since(b.start) >= b.cfg.MaxElapsedTime
}

// wait sleeps for the next interval, shortened so as not to overshoot
// max_elapsed_time, and reports false if ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	d := b.next
	if b.cfg.MaxElapsedTime > 0 {
		d = min(d, max(b.cfg.MaxElapsedTime-time.Since(b.start), 0))
	}
	if grown := float64(b.next) * b.cfg.Multiplier; grown < float64(b.cfg.MaxInterval) {
		b.next = time.Duration(grown)
	} else {
		b.next = b.cfg.MaxInterval
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
