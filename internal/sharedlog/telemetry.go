// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package sharedlog // import "github.com/comet-otel/comet/internal/sharedlog"

import (
	"go.opentelemetry.io/collector/component"

	"github.com/comet-otel/comet/internal/logtelemetry"
	"github.com/comet-otel/comet/internal/metadata"
)

// engineTelemetry is the engine telemetry registered for one directory,
// and the handle whose component reports it.
type engineTelemetry struct {
	builder *metadata.TelemetryBuilder
	owner   *Handle
}

// ReportTelemetry reports the engine's telemetry for the handle's
// directory through set, unless a component of this process already does:
// each directory's series are reported once. They stop when this handle is
// released.
func (h *Handle) ReportTelemetry(set component.TelemetrySettings) error {
	h.reg.mu.Lock()
	defer h.reg.mu.Unlock()
	if h.e.telemetry.owner != nil {
		return nil
	}
	tb, err := logtelemetry.Register(set, h.e.client, h.e.dir)
	if err != nil {
		return err
	}
	h.e.telemetry = engineTelemetry{builder: tb, owner: h}
	return nil
}

// stopTelemetry stops the engine telemetry if h reports it. r.mu held.
func (e *entry) stopTelemetry(h *Handle) {
	if e.telemetry.owner == h {
		e.telemetry.builder.Shutdown()
		e.telemetry = engineTelemetry{}
	}
}
