// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package health reports a component's health to the collector through
// the component status API (read by the healthcheckv2 extension), on
// changes only: a failure that every request meets is one status event,
// not one per request, and the healthy path costs an atomic load.
package health // import "github.com/comet-otel/comet/internal/health"

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// Reporter reports status changes of one component. The zero value is
// ready; until SetHost it reports nothing, and a nil *Reporter never does.
type Reporter struct {
	current atomic.Int32 // a componentstatus.Status

	mu   sync.Mutex
	host component.Host
}

// SetHost sets the host to report to; the component calls it in Start.
func (r *Reporter) SetHost(host component.Host) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.host = host
	r.mu.Unlock()
}

// OK reports that the component works (again).
func (r *Reporter) OK() {
	if r == nil || componentstatus.Status(r.current.Load()) == componentstatus.StatusOK {
		return
	}
	r.report(componentstatus.NewEvent(componentstatus.StatusOK))
}

// Failed reports err as a recoverable or, when Permanent(err) says so, a
// permanent error.
func (r *Reporter) Failed(err error) {
	if r == nil {
		return
	}
	if Permanent(err) {
		r.report(componentstatus.NewPermanentErrorEvent(err))
		return
	}
	r.report(componentstatus.NewRecoverableErrorEvent(err))
}

// Recoverable reports err as a recoverable error, whatever it wraps: for
// failures that are not the directory's, such as a backend refusing data.
func (r *Reporter) Recoverable(err error) {
	if r == nil {
		return
	}
	r.report(componentstatus.NewRecoverableErrorEvent(err))
}

// report sends ev unless the status is already ev's. A permanent error
// stays until OK.
func (r *Reporter) report(ev *componentstatus.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := componentstatus.Status(r.current.Load())
	if cur == ev.Status() || (cur == componentstatus.StatusPermanentError && ev.Status() == componentstatus.StatusRecoverableError) {
		return
	}
	r.current.Store(int32(ev.Status()))
	if r.host != nil {
		componentstatus.ReportStatus(r.host, ev)
	}
}

// Permanent reports whether err means that the directory cannot be used
// without an operator: it is read-only, not accessible, or the disk
// failed (which includes an fsync that failed). A full disk, a full
// budget or a timeout is recoverable.
func Permanent(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EROFS, syscall.EACCES, syscall.EPERM, syscall.EIO} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}
