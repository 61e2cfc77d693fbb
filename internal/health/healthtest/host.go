// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package healthtest has a component host for tests that records the
// status events components report.
package healthtest // import "github.com/comet-otel/comet/internal/health/healthtest"

import (
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
)

// Host is a nop host that records status events; safe for concurrent use.
type Host struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

// NewHost returns a Host with no extensions.
func NewHost() *Host { return &Host{Host: componenttest.NewNopHost()} }

// Report records ev (componentstatus.Reporter).
func (h *Host) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
}

// Events returns the events reported so far.
func (h *Host) Events() []*componentstatus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*componentstatus.Event(nil), h.events...)
}

// Statuses returns the statuses reported so far, in order.
func (h *Host) Statuses() []componentstatus.Status {
	var out []componentstatus.Status
	for _, ev := range h.Events() {
		out = append(out, ev.Status())
	}
	return out
}
