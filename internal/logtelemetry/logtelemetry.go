// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package logtelemetry reports the engine's own telemetry (the metrics
// declared in the module's root metadata.yaml) for one directory's
// client. One component per process and directory registers it: the one
// holding the writer, or a reader when no writer runs in the process, so
// that each series is reported once.
package logtelemetry // import "github.com/comet-otel/comet/internal/logtelemetry"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/comet-otel/comet/internal/log"
	"github.com/comet-otel/comet/internal/metadata"
)

// Register reports client's counters, read at collection time only (no
// file access), under the attribute directory = dir. Shut the returned
// builder down to stop.
func Register(set component.TelemetrySettings, client *log.Client, dir string) (*metadata.TelemetryBuilder, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	attrs := metric.WithAttributes(attribute.String("directory", dir))
	int64Of := func(field func(log.CometStats) int64) metric.Int64Callback {
		return func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(field(client.Counters()), attrs)
			return nil
		}
	}
	err = errors.Join(
		tb.RegisterCometLogDiskUsageCallback(int64Of(func(s log.CometStats) int64 { return s.DiskUsage })),
		tb.RegisterCometLogSegmentsCallback(int64Of(func(s log.CometStats) int64 { return s.SegmentCount })),
		tb.RegisterCometLogStoredBytesCallback(int64Of(func(s log.CometStats) int64 { return s.WrittenBytes })),
		tb.RegisterCometLogFsyncsCallback(int64Of(func(s log.CometStats) int64 { return s.Fsyncs })),
		tb.RegisterCometLogFsyncDurationCallback(func(_ context.Context, o metric.Float64Observer) error {
			o.Observe(client.Counters().FsyncTime.Seconds(), attrs)
			return nil
		}),
		tb.RegisterCometLogTruncationsCallback(int64Of(func(s log.CometStats) int64 { return s.Truncations })),
		tb.RegisterCometLogCorruptRecordsCallback(int64Of(func(s log.CometStats) int64 { return s.CorruptEntries })),
		tb.RegisterCometLogLostRecordsCallback(int64Of(func(s log.CometStats) int64 { return s.LostEntries })),
		tb.RegisterCometLogDroppedRecordsCallback(int64Of(func(s log.CometStats) int64 { return s.DroppedUnconsumed })),
		tb.RegisterCometLogDeletedSegmentsCallback(int64Of(func(s log.CometStats) int64 { return s.DeletedFiles })),
		tb.RegisterCometLogIoErrorsCallback(int64Of(func(s log.CometStats) int64 { return s.Errors })),
	)
	if err != nil {
		tb.Shutdown()
		return nil, err
	}
	return tb, nil
}
