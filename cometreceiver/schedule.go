// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/config/configretry"
)

// probeSchedule spaces the probes of an outage as retry_on_failure says:
// initial_interval first, then multiplied by multiplier after each failed
// probe up to max_interval, each interval randomized by
// ±randomization_factor so that several collectors do not probe in step.
type probeSchedule struct {
	cfg  *configretry.BackOffConfig
	next time.Duration
}

func newProbeSchedule(cfg *configretry.BackOffConfig) *probeSchedule {
	return &probeSchedule{cfg: cfg, next: cfg.InitialInterval}
}

// reset starts the schedule over, for the next outage.
func (s *probeSchedule) reset() { s.next = s.cfg.InitialInterval }

// interval returns the wait before the next probe and grows the one after.
func (s *probeSchedule) interval() time.Duration {
	d := s.next
	if grown := float64(s.next) * max(s.cfg.Multiplier, 1); grown < float64(s.cfg.MaxInterval) {
		s.next = time.Duration(grown)
	} else {
		s.next = max(s.cfg.MaxInterval, s.cfg.InitialInterval)
	}
	if f := s.cfg.RandomizationFactor; f > 0 {
		d = time.Duration(float64(d) * (1 - f + 2*f*rand.Float64()))
	}
	return d
}
