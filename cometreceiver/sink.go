// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
)

// recordFormat is the encoding the comet exporter stores, as named in the
// receiver's standard telemetry (the same as Kafka's "otlp_proto").
const recordFormat = "otlp_proto"

// sink decodes records of one signal and hands them to the next consumer,
// reporting each attempt through the standard receiver telemetry.
type sink struct {
	decode  func(data []byte) (decoded, error)
	startOp func(*receiverhelper.ObsReport, context.Context) context.Context
	endOp   func(obs *receiverhelper.ObsReport, ctx context.Context, format string, items int, err error)
}

// decoded is one record ready for delivery.
type decoded struct {
	items   int
	consume func(context.Context) error
}

func newTracesSink(next consumer.Traces) sink {
	var u ptrace.ProtoUnmarshaler
	return sink{
		decode: func(data []byte) (decoded, error) {
			td, err := u.UnmarshalTraces(data)
			if err != nil {
				return decoded{}, err
			}
			return decoded{items: td.SpanCount(), consume: func(ctx context.Context) error { return next.ConsumeTraces(ctx, td) }}, nil
		},
		startOp: (*receiverhelper.ObsReport).StartTracesOp,
		endOp:   (*receiverhelper.ObsReport).EndTracesOp,
	}
}

func newMetricsSink(next consumer.Metrics) sink {
	var u pmetric.ProtoUnmarshaler
	return sink{
		decode: func(data []byte) (decoded, error) {
			md, err := u.UnmarshalMetrics(data)
			if err != nil {
				return decoded{}, err
			}
			return decoded{items: md.DataPointCount(), consume: func(ctx context.Context) error { return next.ConsumeMetrics(ctx, md) }}, nil
		},
		startOp: (*receiverhelper.ObsReport).StartMetricsOp,
		endOp:   (*receiverhelper.ObsReport).EndMetricsOp,
	}
}

func newLogsSink(next consumer.Logs) sink {
	var u plog.ProtoUnmarshaler
	return sink{
		decode: func(data []byte) (decoded, error) {
			ld, err := u.UnmarshalLogs(data)
			if err != nil {
				return decoded{}, err
			}
			return decoded{items: ld.LogRecordCount(), consume: func(ctx context.Context) error { return next.ConsumeLogs(ctx, ld) }}, nil
		},
		startOp: (*receiverhelper.ObsReport).StartLogsOp,
		endOp:   (*receiverhelper.ObsReport).EndLogsOp,
	}
}
