// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/config/configretry"
)

func TestProbeSchedule_GrowsToMaxInterval(t *testing.T) {
	s := newProbeSchedule(&configretry.BackOffConfig{InitialInterval: time.Second, Multiplier: 2, MaxInterval: 5 * time.Second})
	var got []time.Duration
	for range 6 {
		got = append(got, s.interval())
	}
	assert.Equal(t, []time.Duration{1, 2, 4, 5, 5, 5}, scale(got, time.Second))
}

func TestProbeSchedule_HugeMaxIntervalDoesNotOverflow(t *testing.T) {
	s := newProbeSchedule(&configretry.BackOffConfig{InitialInterval: time.Hour, Multiplier: 1e6, MaxInterval: 1 << 62})
	for range 100 {
		assert.Positive(t, s.interval())
	}
}

func TestProbeSchedule_RandomizationStaysWithinTheFactor(t *testing.T) {
	s := newProbeSchedule(&configretry.BackOffConfig{InitialInterval: time.Second, Multiplier: 1, MaxInterval: time.Second, RandomizationFactor: 0.2})
	seen := map[bool]bool{}
	for range 200 {
		d := s.interval()
		assert.GreaterOrEqual(t, d, 800*time.Millisecond)
		assert.LessOrEqual(t, d, 1200*time.Millisecond)
		seen[d > time.Second] = true
	}
	assert.Len(t, seen, 2, "intervals vary on both sides")
}

func scale(ds []time.Duration, unit time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d / unit
	}
	return out
}
