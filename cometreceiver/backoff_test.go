// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoff_GrowsToMaxInterval(t *testing.T) {
	cfg := RetryConfig{InitialInterval: time.Millisecond, MaxInterval: 4 * time.Millisecond, Multiplier: 2}
	b := newBackoff(&cfg)
	var got []time.Duration
	for range 5 {
		got = append(got, b.next)
		assert.True(t, b.wait(context.Background()))
	}
	assert.Equal(t, []time.Duration{1, 2, 4, 4, 4}, scale(got, time.Millisecond))
	assert.False(t, b.expired(), "max_elapsed_time 0 never expires")
}

func TestBackoff_HugeMaxIntervalDoesNotOverflow(t *testing.T) {
	cfg := RetryConfig{InitialInterval: time.Millisecond, MaxInterval: 1<<63 - 1, Multiplier: 1e6}
	b := newBackoff(&cfg)
	b.next = 1 << 62
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.False(t, b.wait(ctx))
	assert.Equal(t, time.Duration(1<<63-1), b.next)
}

func TestBackoff_ExpiresAndDoesNotOvershoot(t *testing.T) {
	cfg := RetryConfig{InitialInterval: time.Hour, MaxInterval: time.Hour, Multiplier: 2, MaxElapsedTime: 50 * time.Millisecond}
	b := newBackoff(&cfg)
	start := time.Now()
	assert.True(t, b.wait(context.Background()))
	assert.Less(t, time.Since(start), 5*time.Second, "the wait is cut at max_elapsed_time")
	assert.True(t, b.expired())
}

func TestBackoff_StopsWhenContextEnds(t *testing.T) {
	cfg := RetryConfig{InitialInterval: time.Hour, MaxInterval: time.Hour, Multiplier: 2}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	assert.False(t, newBackoff(&cfg).wait(ctx))
}

func scale(ds []time.Duration, unit time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d / unit
	}
	return out
}
