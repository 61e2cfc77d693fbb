// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter // import "github.com/comet-otel/comet/cometexporter"

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pipeline"
	"go.uber.org/zap"

	"github.com/comet-otel/comet/cometexporter/internal/metadata"
	"github.com/comet-otel/comet/internal/alarm"
	"github.com/comet-otel/comet/internal/health"
	"github.com/comet-otel/comet/internal/log"
	"github.com/comet-otel/comet/internal/otlpstream"
	"github.com/comet-otel/comet/internal/sharedlog"
)

// cometExporter is what the exporter of every signal shares: the
// directory's engine client and the shards of the signal's streams.
type cometExporter struct {
	cfg       *Config
	set       exporter.Settings
	picker    *shardPicker
	streams   []string // stream name per shard
	telemetry *metadata.TelemetryBuilder

	handle *sharedlog.Handle // set by start
	client *log.Client
	health health.Reporter

	// Refusal episodes, said once each (see appendError).
	logFull, diskFull alarm.Alarm
}

// newCometExporter prepares an exporter whose shard i is the stream
// streamName(i).
func newCometExporter(cfg *Config, set exporter.Settings, streamName func(shard uint32) string) (*cometExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	streams := make([]string, cfg.Shards)
	for i := range streams {
		streams[i] = streamName(uint32(i))
	}
	return &cometExporter{cfg: cfg, set: set, picker: newShardPicker(cfg.Shards), streams: streams, telemetry: tb}, nil
}

// start opens (or joins) the directory's engine client.
func (e *cometExporter) start(_ context.Context, host component.Host) error {
	e.health.SetHost(host)
	h, err := sharedlog.Default().OpenWriter(e.cfg.Directory, e.cfg.engineConfig(e.set.Logger), e.set.ID.String())
	if err != nil {
		return describeConflict(err)
	}
	e.handle, e.client = h, h.Client()
	if err := e.picker.own(e.client.OwnedShards(uint32(e.cfg.Shards))); err != nil {
		e.telemetry.Shutdown()
		_ = h.Release()
		return err
	}
	if err := h.ReportTelemetry(e.set.TelemetrySettings); err != nil {
		e.telemetry.Shutdown()
		_ = h.Release()
		return err
	}
	e.set.Logger.Info("Comet exporter writing", zap.String("directory", h.Directory()),
		zap.Int("shards", e.cfg.Shards), zap.Uint32s("own_shards", e.picker.owned), zap.String("partition_by", string(e.cfg.PartitionBy)),
		zap.String("sync", string(e.cfg.Sync.Mode)), zap.Int64("segment_size", e.cfg.effectiveSegmentSize()))
	return nil
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

// signalExporter appends the requests of one signal, whose pdata type is T.
type signalExporter[T any] struct {
	*cometExporter
	codec *otlpstream.Codec[T]
	split func(T) []part[T]
}

func newSignalExporter[T any](cfg *Config, set exporter.Settings, c *otlpstream.Codec[T]) (*signalExporter[T], error) {
	if cfg.PartitionBy == PartitionTraceID && c.Signal != pipeline.SignalTraces {
		return nil, fmt.Errorf("partition_by: trace_id applies to traces only; use round_robin or resource for %s (a separate comet exporter on the same directory may partition traces by trace_id)", c.Signal)
	}
	e, err := newCometExporter(cfg, set, c.StreamName)
	if err != nil {
		return nil, err
	}
	return &signalExporter[T]{cometExporter: e, codec: c, split: splitter(e.picker, cfg.PartitionBy, c)}, nil
}

// push appends a request: each shard's part of it, in turn.
func (s *signalExporter[T]) push(ctx context.Context, d T) error {
	for _, p := range s.split(d) {
		if err := s.writePart(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// writePart encodes one shard's part of a request and appends it. The
// records of a split part are appended in batches of at most
// max_record_size bytes, so no batch can exceed the disk budget.
func (s *signalExporter[T]) writePart(ctx context.Context, p part[T]) error {
	e := s.cometExporter
	if e.client == nil {
		return errors.New("comet exporter is not started")
	}
	records, err := encode(s.codec, p.data, e.cfg.MaxRecordSize, nil)
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
	e.health.OK()
	e.noteAccepted()
	e.telemetry.CometExporterAppendedRecords.Add(ctx, int64(len(records)))
	e.telemetry.CometExporterAppendedItems.Add(ctx, int64(s.codec.Count(p.data)))
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
