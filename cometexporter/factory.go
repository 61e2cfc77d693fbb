// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter // import "github.com/comet-otel/comet/cometexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/exporter/xexporter"

	"github.com/comet-otel/comet/cometexporter/internal/metadata"
	"github.com/comet-otel/comet/internal/otlpstream"
)

// NewFactory returns the factory of the comet exporter. Profiles need the
// collector's profiles feature gate (service.profilesSupport).
func NewFactory() exporter.Factory {
	return xexporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		xexporter.WithTraces(createTraces, metadata.TracesStability),
		xexporter.WithMetrics(createMetrics, metadata.MetricsStability),
		xexporter.WithLogs(createLogs, metadata.LogsStability),
		xexporter.WithProfiles(createProfiles, metadata.ProfilesStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		// Shards let appends and receiver workers run in parallel; 16 keeps
		// a 2-to-8-core edge node busy without many small files.
		Shards:      16,
		PartitionBy: PartitionRoundRobin,
		// 0: derived from retention::max_size and shards (see README).
		SegmentSize: 0,
		// 4 MiB: the default gRPC message limit of OTLP backends, so every
		// record the receiver delivers can be exported as one request.
		MaxRecordSize: 4 << 20,
		// The engine's default: at most one second of appends (or 10000
		// records of a shard) can be lost on power failure, at a small
		// cost; "always" costs an fsync per group of concurrent requests.
		Sync: SyncConfig{Mode: SyncInterval, Interval: time.Second, MaxPending: 10000},
		Retention: RetentionConfig{
			// A bounded disk by default: an edge buffer must never fill
			// the disk it shares with the node.
			MaxSize: 1 << 30,
			// Delivered data is not kept for replay: the directory shrinks
			// back as the receiver drains it.
			DeleteConsumed:  true,
			CleanupInterval: 30 * time.Second,
		},
		// Block (bounded by the request's context) rather than reject:
		// a short burst waits for the receiver instead of bouncing.
		WhenFull: WhenFullBlock,
		// OTLP protobuf compresses several-fold; small requests are not
		// worth the CPU.
		// Records a receiver in this collector reads back within moments
		// stay uncompressed (they cost CPU twice for nothing); once 1 MiB
		// waits on a shard, the backlog is compressed.
		Compression: CompressionConfig{Type: CompressionZstd, MinSize: 4096, BacklogThreshold: 1 << 20},
		// No timeout of our own: an append is bounded by the disk, and a
		// wait under when_full block by the caller's deadline.
		Timeout: 0,
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	e, err := newSignalExporter(cfg.(*Config), set, otlpstream.Traces)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewTraces(ctx, helperSettings(set), cfg, e.push, e.helperOptions()...)
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	e, err := newSignalExporter(cfg.(*Config), set, otlpstream.Metrics)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewMetrics(ctx, helperSettings(set), cfg, e.push, e.helperOptions()...)
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	e, err := newSignalExporter(cfg.(*Config), set, otlpstream.Logs)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, helperSettings(set), cfg, e.push, e.helperOptions()...)
}

func createProfiles(ctx context.Context, set exporter.Settings, cfg component.Config) (xexporter.Profiles, error) {
	e, err := newSignalExporter(cfg.(*Config), set, otlpstream.Profiles)
	if err != nil {
		return nil, err
	}
	return xexporterhelper.NewProfiles(ctx, helperSettings(set), cfg, e.push, e.helperOptions()...)
}

// helperSettings are the settings exporterhelper logs with: without its
// per-request line for requests refused as back-pressure, which the
// exporter reports once per episode instead (see appendError).
func helperSettings(set exporter.Settings) exporter.Settings {
	set.Logger = quietRefusals(set.Logger)
	return set
}

// helperOptions wraps the exporter for the standard exporter telemetry,
// without a queue or retries: the request returns only once it is on
// disk, and the upstream client retries what fails. The exporter
// modifies requests only where the signal's marshaler does (profiles),
// and says so, so that the pipeline hands it a copy when it shares one.
func (s *signalExporter[T]) helperOptions() []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: s.codec.MarshalMutates}),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: s.cfg.Timeout}),
		exporterhelper.WithStart(s.start),
		exporterhelper.WithShutdown(s.shutdown),
	}
}
