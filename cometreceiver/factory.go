// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/collector/receiver/xreceiver"

	"github.com/comet-otel/comet/cometreceiver/internal/metadata"
	"github.com/comet-otel/comet/internal/otlpstream"
)

// NewFactory returns the factory of the comet receiver. Profiles need the
// collector's profiles feature gate (service.profilesSupport).
func NewFactory() receiver.Factory {
	return xreceiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		xreceiver.WithTraces(createTraces, metadata.TracesStability),
		xreceiver.WithMetrics(createMetrics, metadata.MetricsStability),
		xreceiver.WithLogs(createLogs, metadata.LogsStability),
		xreceiver.WithProfiles(createProfiles, metadata.ProfilesStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		// Empty: the component ID, so two receivers on one directory are
		// two independent groups unless told otherwise.
		Group:   "",
		StartAt: StartAtEarliest,
		// A worker has one merged request (up to batch::max_items) in
		// flight downstream: four per signal carry over 300k items/s over
		// a 50 ms link, and bound what the drain holds in memory.
		Workers: 4,
		// Only a writer in another process is polled; 100ms keeps its
		// added latency below what a network hop costs.
		PollInterval: 100 * time.Millisecond,
		Batch: BatchConfig{
			// Chosen by measurement (docs/benchmarks.md): past a few
			// thousand items a request, drains stop getting faster while
			// each request costs more memory and, after a crash, more
			// duplicates.
			MaxItems: 4096,
			// Well under the 4 MiB message limit of gRPC OTLP backends;
			// it also bounds each worker's memory: the stored records,
			// their decoding (a few times larger) and the exporter's
			// encoding of the request.
			MaxBytes: 1 << 20,
			// Chosen by measurement (docs/benchmarks.md, "Steady state"):
			// a pipeline keeping up with its senders otherwise sends one
			// request per stored record.
			FlushTimeout: 200 * time.Millisecond,
			MinBytes:     256 << 10,
		},
		RetryOnFailure: configretry.BackOffConfig{
			Enabled: true,
			// Probes start fast and settle at one a second: the first
			// delivery after the backend is back comes within about a
			// second, whatever the outage length, and a down backend
			// sees one request a second per pipeline.
			InitialInterval:     100 * time.Millisecond,
			RandomizationFactor: 0.2,
			Multiplier:          2,
			MaxInterval:         time.Second,
			// A buffer never gives up on its data: the disk budget, not a
			// timer, bounds what waits.
			MaxElapsedTime: 0,
		},
	}
}

// signalStreams describes a signal's streams and sink for the receiver.
func signalStreams[T any](c *otlpstream.Codec[T], consume func(context.Context, T) error,
	startOp func(*receiverhelper.ObsReport, context.Context) context.Context,
	endOp func(*receiverhelper.ObsReport, context.Context, string, int, error),
) streamSink {
	return streamSink{
		signal:     c.Signal,
		pattern:    c.StreamPattern(),
		streamName: c.StreamName,
		newSink: func(obs *receiverhelper.ObsReport) sink {
			return &signalSink[T]{codec: c, consume: consume, obs: obs, startOp: startOp, endOp: endOp}
		},
	}
}

func createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	return newCometReceiver(cfg.(*Config), set, signalStreams(otlpstream.Traces, next.ConsumeTraces,
		(*receiverhelper.ObsReport).StartTracesOp, (*receiverhelper.ObsReport).EndTracesOp))
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	return newCometReceiver(cfg.(*Config), set, signalStreams(otlpstream.Metrics, next.ConsumeMetrics,
		(*receiverhelper.ObsReport).StartMetricsOp, (*receiverhelper.ObsReport).EndMetricsOp))
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newCometReceiver(cfg.(*Config), set, signalStreams(otlpstream.Logs, next.ConsumeLogs,
		(*receiverhelper.ObsReport).StartLogsOp, (*receiverhelper.ObsReport).EndLogsOp))
}

func createProfiles(_ context.Context, set receiver.Settings, cfg component.Config, next xconsumer.Profiles) (xreceiver.Profiles, error) {
	return newCometReceiver(cfg.(*Config), set, signalStreams(otlpstream.Profiles, next.ConsumeProfiles,
		(*receiverhelper.ObsReport).StartProfilesOp, (*receiverhelper.ObsReport).EndProfilesOp))
}
