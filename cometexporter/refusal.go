// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter // import "github.com/comet-otel/comet/cometexporter"

import (
	"errors"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Back-pressure: when the log is at its budget (when_full) or the disk is full, the exporter
// refuses requests with a retryable error. Under sustained load that is thousands of
// requests a second, so it says why once, when the first request is refused, and once more
// when requests are accepted again (alarm.Alarm); the line exporterhelper would log for every
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
// ends (see alarm.Alarm.Clear).
var refusalSettle = 5 * time.Second

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
