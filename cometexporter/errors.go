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
// when an append fails. A full log, a cancelled or expired request and
// I/O errors are retryable: the OTLP receiver turns them into Unavailable
// (HTTP 503) and clients retry. Only errors no retry can cure are
// permanent.
//
// A full budget or disk is also reported as a recoverable error status, and
// a directory that cannot be used as a permanent one (see health), until
// an append succeeds again.
func (e *cometExporter) appendError(ctx context.Context, stream string, err error) error {
	switch {
	case errors.Is(err, log.ErrFull):
		e.telemetry.CometExporterFullRejections.Add(ctx, 1)
		e.health.Failed(err)
		return fmt.Errorf("comet exporter: log is full (when_full: %s): %w", e.cfg.WhenFull, err)
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

// permanent marks an error no retry can cure.
func permanent(err error) error {
	return consumererror.NewPermanent(fmt.Errorf("comet exporter: %w", err))
}
