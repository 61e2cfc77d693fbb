// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter // import "github.com/comet-otel/comet/cometexporter"

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/log"
)

// appendError decides, in one place, what the caller of the exporter sees
// when an append fails. A full log, a full disk, a cancelled or expired
// request and I/O errors are retryable: the OTLP receiver turns them into
// Unavailable (HTTP 503) and clients retry. Only errors no retry can cure
// are permanent. A full log or disk is back-pressure: said once when it
// starts (and once when it ends, see noteAccepted), not once per request.
//
// A full budget or disk is also reported as a recoverable error status, and
// a directory that cannot be used as a permanent one (see health), until
// an append succeeds again.
func (e *cometExporter) appendError(ctx context.Context, stream string, err error) error {
	switch {
	case errors.Is(err, log.ErrFull):
		e.telemetry.CometExporterFullRejections.Add(ctx, 1)
		e.health.Failed(err)
		if e.logFull.Raise() {
			e.set.Logger.Warn("Log full: retention::max_size is reached and the comet receiver has not acknowledged enough for retention to free a segment. Requests are refused with a retryable error until it has",
				zap.String("directory", e.cfg.Directory), zap.String("when_full", string(e.cfg.WhenFull)),
				zap.Int64("max_size", e.cfg.Retention.MaxSize), zap.Error(err))
		}
		return refused(fmt.Errorf("comet exporter: log is full (when_full: %s): %w", e.cfg.WhenFull, err))
	case errors.Is(err, log.ErrNoSpace):
		e.telemetry.CometExporterFullRejections.Add(ctx, 1)
		e.health.Failed(err)
		if e.diskFull.Raise() {
			e.set.Logger.Error("Disk full: requests are refused with a retryable error until space is freed. What was appended before is intact; the comet receiver keeps draining, and retention deletes what it acknowledged",
				zap.String("directory", e.cfg.Directory), zap.Error(err))
		}
		return refused(fmt.Errorf("comet exporter: disk full, append to %s refused: %w", stream, err))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("comet exporter: append to %s: %w", stream, err)
	case errors.Is(err, log.ErrEntryTooLarge), errors.Is(err, log.ErrInvalidStream), errors.Is(err, log.ErrReadOnly):
		e.set.Logger.Error("Append refused for good; the request is dropped", zap.String("stream", stream), zap.Error(err))
		return permanent(err)
	default:
		e.set.Logger.Warn("Append failed", zap.String("stream", stream), zap.Error(err))
		e.health.Failed(err)
		return fmt.Errorf("comet exporter: append to %s: %w", stream, err)
	}
}

// noteAccepted ends a refusal episode once a request was appended again.
func (e *cometExporter) noteAccepted() {
	if n, lasted, ended := e.diskFull.Clear(refusalSettle); ended {
		e.set.Logger.Info("Disk space available again: requests are accepted",
			zap.String("directory", e.cfg.Directory), zap.Int64("refused_requests", n), zap.Duration("after", lasted))
	}
	if n, lasted, ended := e.logFull.Clear(refusalSettle); ended {
		e.set.Logger.Info("Log below its size budget again: requests are accepted",
			zap.String("directory", e.cfg.Directory), zap.Int64("refused_requests", n), zap.Duration("after", lasted))
	}
}

// permanent marks an error no retry can cure.
func permanent(err error) error {
	return consumererror.NewPermanent(fmt.Errorf("comet exporter: %w", err))
}
