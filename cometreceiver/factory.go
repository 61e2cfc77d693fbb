// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/receiver"

	"github.com/comet-otel/comet/cometreceiver/internal/metadata"
)

// NewFactory returns the factory of the comet receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithTraces(createTraces, metadata.TracesStability),
		receiver.WithMetrics(createMetrics, metadata.MetricsStability),
		receiver.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		// Empty: the component ID, so two receivers on one directory are
		// two independent groups unless told otherwise.
		Group:   "",
		StartAt: StartAtEarliest,
		// Records are delivered one at a time; a batch only saves reads.
		// Ten keeps a worker's memory at ten records (one request of the
		// upstream client each) and limits what a crash redelivers.
		BatchSize: 10,
		// Only a writer in another process is polled; 100ms keeps its
		// added latency below what a network hop costs.
		PollInterval: 100 * time.Millisecond,
		// A worker has one request in flight downstream, so draining to a
		// distant backend is bound by round trips: eight in flight per
		// signal (two shards each with the exporter's 16) keep a 50ms link
		// busy without many goroutines.
		Workers: 8,
		Retry: RetryConfig{
			InitialInterval: time.Second,
			MaxInterval:     30 * time.Second,
			Multiplier:      2,
			// A buffer never gives up on its data: the disk budget, not a
			// timer, bounds what waits.
			MaxElapsedTime: 0,
		},
	}
}

func createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	return newCometReceiver(cfg.(*Config), set, pipeline.SignalTraces, newTracesSink(next))
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	return newCometReceiver(cfg.(*Config), set, pipeline.SignalMetrics, newMetricsSink(next))
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newCometReceiver(cfg.(*Config), set, pipeline.SignalLogs, newLogsSink(next))
}
