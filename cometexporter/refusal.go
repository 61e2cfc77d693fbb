// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter // import "github.com/comet-otel/comet/cometexporter"

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Back-pressure: when the log is at its budget (when_full) or the disk is full, the exporter
// refuses requests with a retryable error. Under sustained load that is thousands of
// requests a second, so it says why once, when the first request is refused, and once more
// when requests are accepted again (alarm); the line exporterhelper would log for every
// refused request is dropped (quietRefusals).

// refusedError is a request refused as back-pressure. It is retryable: the OTLP receiver
// answers Unavailable (HTTP 503) and clients retry.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

func refused(err error) error { return &refusedError{err: err} }

func isRefusal(err error) bool {
	var r *refusedError
	return errors.As(err, &r)
}

// refusalSettle is how long requests must be accepted without a refusal before an episode
// ends: near the edge of a full disk some requests fit and others do not, and that is one
// episode, not one per flip.
var refusalSettle = 5 * time.Second

// alarm is a condition that makes the exporter refuse requests. Safe for concurrent use; a
// request accepted while no episode is on costs one atomic load.
type alarm struct {
	on          atomic.Bool
	mu          sync.Mutex
	since       time.Time
	lastRefusal time.Time
	refused     int64
}

// refuse counts a refused request and reports whether it started an episode: the caller
// then says why.
func (a *alarm) refuse() (first bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	if !a.on.Load() {
		a.on.Store(true)
		a.since, a.refused = now, 0
		first = true
	}
	a.lastRefusal = now
	a.refused++
	return first
}

// clear ends the episode after a request was accepted, once no request has been refused for
// refusalSettle. It returns how many requests the episode refused and how long it lasted.
func (a *alarm) clear() (refused int64, lasted time.Duration, ended bool) {
	if !a.on.Load() {
		return 0, 0, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.on.Load() || time.Since(a.lastRefusal) < refusalSettle {
		return 0, 0, false
	}
	a.on.Store(false)
	return a.refused, time.Since(a.since), true
}

// quietRefusals returns logger without the Error line exporterhelper writes for each
// request that failed with a refusal ("Exporting failed. Rejecting data."): the alarm has
// said why once, and the sender is told with every refusal. Other lines pass unchanged.
func quietRefusals(logger *zap.Logger) *zap.Logger {
	return logger.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return refusalFilter{c} }))
}

type refusalFilter struct{ zapcore.Core }

func (f refusalFilter) With(fields []zapcore.Field) zapcore.Core {
	return refusalFilter{f.Core.With(fields)}
}

func (f refusalFilter) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if f.Enabled(ent.Level) {
		return ce.AddCore(ent, f)
	}
	return ce
}

func (f refusalFilter) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	for _, field := range fields {
		if err, ok := field.Interface.(error); ok && field.Type == zapcore.ErrorType && isRefusal(err) {
			return nil
		}
	}
	return f.Core.Write(ent, fields)
}
