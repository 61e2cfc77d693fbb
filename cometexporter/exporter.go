// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter // import "github.com/comet-otel/comet/cometexporter"

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/comet-otel/comet/cometexporter/internal/metadata"
	"github.com/comet-otel/comet/internal/alarm"
	"github.com/comet-otel/comet/internal/log"
	"github.com/comet-otel/comet/internal/sharedlog"
)

// streamVersion is the version part of every stream name: the record
// format is OTLP protobuf of the signal, one request (or part) per record.
const streamVersion = "v1"

// cometExporter appends one signal's requests to the shards of its
// namespace ("traces", "metrics" or "logs").
type cometExporter struct {
	cfg       *Config
	set       exporter.Settings
	picker    *shardPicker
	streams   []string // stream name per shard
	telemetry *metadata.TelemetryBuilder

	handle *sharedlog.Handle // set by start
	client *log.Client

	// Refusal episodes, said once each (see appendError).
	logFull, diskFull alarm.Alarm
}

func newCometExporter(cfg *Config, set exporter.Settings, namespace string) (*cometExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	streams := make([]string, cfg.Shards)
	for i := range streams {
		streams[i] = log.ShardStreamName(namespace, streamVersion, uint32(i))
	}
	return &cometExporter{cfg: cfg, set: set, picker: newShardPicker(cfg.Shards), streams: streams, telemetry: tb}, nil
}

// start opens (or joins) the directory's engine client.
func (e *cometExporter) start(_ context.Context, _ component.Host) error {
	h, err := sharedlog.Default().OpenWriter(e.cfg.Directory, e.cfg.engineConfig(e.set.Logger), e.set.ID.String())
	if err != nil {
		return describeConflict(err)
	}
	e.handle, e.client = h, h.Client()
	if err := e.registerCallbacks(); err != nil {
		e.telemetry.Shutdown()
		_ = h.Release()
		return err
	}
	e.set.Logger.Info("Comet exporter writing", zap.String("directory", h.Directory()),
		zap.Int("shards", e.cfg.Shards), zap.String("partition_by", string(e.cfg.PartitionBy)),
		zap.String("sync", string(e.cfg.Sync.Mode)), zap.Int64("segment_size", e.cfg.effectiveSegmentSize()))
	return nil
}

// registerCallbacks reports the directory's disk usage and dropped
// records. GetStats walks every shard, so it runs only at collection time.
func (e *cometExporter) registerCallbacks() error {
	client := e.client
	return errors.Join(
		e.telemetry.RegisterCometExporterDiskUsageCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(client.GetStats().DiskUsage)
			return nil
		}),
		e.telemetry.RegisterCometExporterDroppedRecordsCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(client.GetStats().DroppedUnconsumed)
			return nil
		}),
	)
}

// shutdown releases the client; the last component using the directory
// closes it, which fsyncs what is pending.
func (e *cometExporter) shutdown(context.Context) error {
	e.telemetry.Shutdown()
	if e.handle == nil {
		return nil
	}
	return e.handle.Release()
}

func (e *cometExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	for _, p := range e.picker.partitionTraces(e.cfg.PartitionBy, td) {
		if err := writePart(ctx, e, tracesCodec, p, p.data.SpanCount()); err != nil {
			return err
		}
	}
	return nil
}

func (e *cometExporter) pushMetrics(ctx context.Context, md pmetric.Metrics) error {
	for _, p := range e.picker.partitionMetrics(e.cfg.PartitionBy, md) {
		if err := writePart(ctx, e, metricsCodec, p, p.data.DataPointCount()); err != nil {
			return err
		}
	}
	return nil
}

func (e *cometExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	for _, p := range e.picker.partitionLogs(e.cfg.PartitionBy, ld) {
		if err := writePart(ctx, e, logsCodec, p, p.data.LogRecordCount()); err != nil {
			return err
		}
	}
	return nil
}

// writePart encodes one shard's part of a request and appends it. The
// records of a split part are appended in batches of at most
// max_record_size bytes, so no batch can exceed the disk budget.
func writePart[T any](ctx context.Context, e *cometExporter, c *codec[T], p part[T], items int) error {
	if e.client == nil {
		return errors.New("comet exporter is not started")
	}
	records, err := encode(c, p.data, e.cfg.MaxRecordSize, nil)
	if err != nil {
		return permanent(err)
	}
	stream := e.streams[p.shard]
	var bytes int64
	for start := 0; start < len(records); {
		end, size := start, 0
		for end < len(records) && (end == start || size+len(records[end]) <= e.cfg.MaxRecordSize) {
			size += len(records[end])
			end++
		}
		if _, err := e.client.Append(ctx, stream, records[start:end]); err != nil {
			return e.appendError(ctx, stream, err)
		}
		bytes += int64(size)
		start = end
	}
	e.noteAccepted()
	e.telemetry.CometExporterAppendedRecords.Add(ctx, int64(len(records)))
	e.telemetry.CometExporterAppendedItems.Add(ctx, int64(items))
	e.telemetry.CometExporterAppendedBytes.Add(ctx, bytes)
	return nil
}

// describeConflict rewrites a registry conflict in this exporter's keys.
func describeConflict(err error) error {
	var conflict *sharedlog.ConflictError
	if !errors.As(err, &conflict) {
		return err
	}
	msg := fmt.Sprintf("comet exporter: directory %q is already used by %s with different settings:", conflict.Directory, conflict.Owner)
	for _, d := range conflict.Settings {
		key := d.Field
		if k, ok := configKeys[d.Field]; ok {
			key = k
		}
		msg += fmt.Sprintf(" %s (%s there, %s here);", key, d.Open, d.Wanted)
	}
	return errors.New(msg + " exporters sharing a directory must configure it identically")
}
