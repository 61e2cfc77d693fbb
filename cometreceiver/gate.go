// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"errors"
	"sync"
	"time"
)

// gate decides when the workers of one pipeline may send downstream.
// While the next consumer accepts, every worker sends at once. When it
// refuses a request with a retryable error, an outage starts: from then
// on a single worker at a time sends its request as a probe, at the
// intervals of the probe schedule, while the others wait without sending.
// As soon as any request is answered (the probe, or one that was already
// in flight), the outage ends and every waiting worker sends at once.
//
// The gate only keeps time and turns; what an outage means to the
// operator (logs, status, telemetry) is the observer's.
type gate struct {
	schedule *probeSchedule
	observer outageObserver

	mu        sync.Mutex
	outage    *outage       // nil while the next consumer accepts
	probing   bool          // a probe is in flight
	nextProbe time.Time     // when the next probe may go
	changed   chan struct{} // closed and replaced on every change above
}

// outage describes one period of refusals.
type outage struct {
	since    time.Time // the first refusal
	failures int       // refused requests, probes included
	lastErr  error
}

// outageObserver learns when outages start, last and end. The gate calls
// it without holding its lock, at most once per event.
type outageObserver interface {
	outageStarted(o outage)
	// outageContinues is called after each refused probe.
	outageContinues(o outage)
	outageEnded(o outage)
}

// permit is what a worker may send under.
type permit int

const (
	permitOpen  permit = iota // no outage: send
	permitProbe               // during an outage: this request is the probe
)

func newGate(schedule *probeSchedule, observer outageObserver) *gate {
	return &gate{schedule: schedule, observer: observer, changed: make(chan struct{})}
}

// errWaitExpired is returned by wait when its deadline passed first.
var errWaitExpired = errors.New("the wait for the next consumer expired")

// wait returns when the caller may send: at once without an outage;
// during one, when it is the caller's turn to probe or the outage ends.
// It fails with ctx's error when ctx ends, or errWaitExpired at deadline
// (zero: none).
func (g *gate) wait(ctx context.Context, deadline time.Time) (permit, error) {
	for {
		g.mu.Lock()
		if g.outage == nil {
			g.mu.Unlock()
			return permitOpen, nil
		}
		now := time.Now()
		if !g.probing && !now.Before(g.nextProbe) {
			g.probing = true
			g.mu.Unlock()
			return permitProbe, nil
		}
		changed := g.changed
		wake := deadline
		if !g.probing && (wake.IsZero() || g.nextProbe.Before(wake)) {
			wake = g.nextProbe
		}
		g.mu.Unlock()
		if !deadline.IsZero() && !now.Before(deadline) {
			return permitOpen, errWaitExpired
		}
		if err := sleepUntil(ctx, wake, changed); err != nil {
			return permitOpen, err
		}
	}
}

// sleepUntil waits for until (zero: forever), changed or ctx.
func sleepUntil(ctx context.Context, until time.Time, changed <-chan struct{}) error {
	var timer <-chan time.Time
	if !until.IsZero() {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changed:
	case <-timer:
	}
	return nil
}

// answered reports that a request sent under p reached the next consumer,
// which accepted it or refused it for good: an outage ends.
func (g *gate) answered(p permit) {
	g.mu.Lock()
	if p == permitProbe {
		g.probing = false
	}
	o := g.outage
	if o == nil {
		g.mu.Unlock()
		return
	}
	g.outage = nil
	g.schedule.reset()
	g.broadcast()
	g.mu.Unlock()
	g.observer.outageEnded(*o)
}

// refused reports that a request sent under p failed with a retryable
// error: an outage starts, or its probe failed and the next is scheduled.
func (g *gate) refused(p permit, err error) {
	g.mu.Lock()
	started := g.outage == nil
	if started {
		g.outage = &outage{since: time.Now()}
		g.nextProbe = time.Now().Add(g.schedule.interval())
	}
	o := g.outage
	o.failures++
	o.lastErr = err
	probeFailed := p == permitProbe
	if probeFailed {
		g.probing = false
		g.nextProbe = time.Now().Add(g.schedule.interval())
	}
	snapshot := *o
	g.broadcast()
	g.mu.Unlock()
	switch {
	case started:
		g.observer.outageStarted(snapshot)
	case probeFailed:
		g.observer.outageContinues(snapshot)
	}
}

// abandoned reports that a request sent under p got no answer because its
// worker is stopping; a probe's turn passes to the next worker.
func (g *gate) abandoned(p permit) {
	if p != permitProbe {
		return
	}
	g.mu.Lock()
	g.probing = false
	g.broadcast()
	g.mu.Unlock()
}

// broadcast wakes every waiting worker. g.mu must be held.
func (g *gate) broadcast() {
	close(g.changed)
	g.changed = make(chan struct{})
}
