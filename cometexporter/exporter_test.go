// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/comet-otel/comet/cometexporter/internal/metadatatest"
	"github.com/comet-otel/comet/internal/log"
	"github.com/comet-otel/comet/internal/otlpstream"
)

func TestExporter_AppendsOTLPProtoPerSignal(t *testing.T) {
	cfg := testConfig(t)
	cfg.Shards = 4
	f := NewFactory()
	traces := startExporter(t, nopSettings(), cfg, f.CreateTraces)
	metrics := startExporter(t, nopSettings(), cfg, f.CreateMetrics)
	logs := startExporter(t, nopSettings(), cfg, f.CreateLogs)

	td, md, ld := genTraces(1, 1, 10, 1, 1), genMetrics(1, 1, 2, 3, 1), genLogs(1, 1, 10, 1)
	require.NoError(t, traces.ConsumeTraces(context.Background(), td))
	require.NoError(t, metrics.ConsumeMetrics(context.Background(), md))
	require.NoError(t, logs.ConsumeLogs(context.Background(), ld))

	wantTraces, _ := otlpstream.Traces.Marshal(td)
	wantMetrics, _ := otlpstream.Metrics.Marshal(md)
	wantLogs, _ := otlpstream.Logs.Marshal(ld)
	assert.Equal(t, map[uint32][][]byte{0: {wantTraces}}, readBack(t, cfg.Directory, "traces"))
	assert.Equal(t, map[uint32][][]byte{0: {wantMetrics}}, readBack(t, cfg.Directory, "metrics"))
	assert.Equal(t, map[uint32][][]byte{0: {wantLogs}}, readBack(t, cfg.Directory, "logs"))
}

func TestExporter_SplitsOversizedRequestsIntoReadableRecords(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxRecordSize = smallRecord
	exp := startExporter(t, nopSettings(), cfg, NewFactory().CreateLogs)
	ld := genLogs(3, 2, 120, 1)
	require.Greater(t, otlpstream.Logs.Size(ld), 8*smallRecord)
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))

	var got []string
	records := readBack(t, cfg.Directory, "logs")
	require.Len(t, records, 1, "round robin puts the whole request in one shard")
	for _, r := range records[0] {
		assert.LessOrEqual(t, len(r), smallRecord)
		back, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(r)
		require.NoError(t, err)
		got = append(got, flattenLogs(back)...)
	}
	assert.Equal(t, flattenLogs(ld), got)
}

func TestExporter_UnsplittableRecordIsPermanentError(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxRecordSize = smallRecord
	exp := startExporter(t, nopSettings(), cfg, NewFactory().CreateLogs)
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(strings.Repeat("x", 2*smallRecord))
	err := exp.ConsumeLogs(context.Background(), ld)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "a single log record encodes to")
}

func TestExporter_TraceIDPartitionIsForTracesOnly(t *testing.T) {
	cfg := testConfig(t)
	cfg.PartitionBy = PartitionTraceID
	_, err := NewFactory().CreateLogs(context.Background(), nopSettings(), cfg)
	require.ErrorContains(t, err, "partition_by: trace_id applies to traces only")
	_, err = NewFactory().CreateMetrics(context.Background(), nopSettings(), cfg)
	require.ErrorContains(t, err, "partition_by: trace_id applies to traces only")
}

func TestExporter_SameDirectoryDifferentSettingsFailsAtStart(t *testing.T) {
	cfg := testConfig(t)
	startExporter(t, nopSettings(), cfg, NewFactory().CreateTraces)

	other := *cfg
	other.Sync.Mode = SyncAlways
	other.Compression.Type = CompressionNone
	exp, err := NewFactory().CreateLogs(context.Background(), nopSettings(), &other)
	require.NoError(t, err, "creation does no I/O")
	err = exp.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), cfg.Directory)
	assert.Contains(t, err.Error(), "sync::mode (none there, always here)")
	assert.Contains(t, err.Error(), "compression::type")
	require.NoError(t, exp.Shutdown(context.Background()))

	same := *cfg
	same.Shards = 3 // not an engine setting: writers may differ in it
	startExporter(t, nopSettings(), &same, NewFactory().CreateLogs)
}

func TestExporter_ShutdownWithoutStart(t *testing.T) {
	exp, err := NewFactory().CreateTraces(context.Background(), nopSettings(), testConfig(t))
	require.NoError(t, err)
	require.NoError(t, exp.Shutdown(context.Background()))
}

// fullConfig is a tiny budget: no consumer group reads the directory, so
// nothing can be deleted and the log fills after about 64 requests.
func fullConfig(t *testing.T, policy WhenFull) *Config {
	cfg := testConfig(t)
	cfg.Shards = 2
	cfg.WhenFull = policy
	cfg.MaxRecordSize = 16 << 10
	cfg.SegmentSize = 64 << 10
	cfg.Retention.MaxSize = 512 << 10
	cfg.Compression.Type = CompressionNone
	return cfg
}

// request is about 8 KiB of OTLP.
func request(i int) ptrace.Traces { return genTraces(1, 1, 40, 1, uint64(i)) }

// segmentBytes is what the directory's segment files hold on disk.
func segmentBytes(t *testing.T, dir string) int64 {
	var total int64
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".comet") {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	}))
	return total
}

func metricValue(t *testing.T, tt *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tt.GetMetric(name)
	if err != nil && strings.Contains(err.Error(), "not found") {
		return 0 // a counter never incremented is not reported
	}
	require.NoError(t, err)
	var sum int64
	switch data := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range data.DataPoints {
			sum += dp.Value
		}
	case metricdata.Gauge[int64]:
		for _, dp := range data.DataPoints {
			sum += dp.Value
		}
	default:
		t.Fatalf("metric %s has unexpected data %T", name, m.Data)
	}
	return sum
}

func TestExporter_WhenFullReject_IsRetryableAndRecovers(t *testing.T) {
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(context.Background())) }()
	cfg := fullConfig(t, WhenFullReject)
	exp := startExporter(t, metadatatest.NewSettings(tt), cfg, NewFactory().CreateTraces)

	var err error
	accepted := 0
	for i := 0; i < 1000 && err == nil; i++ {
		if err = exp.ConsumeTraces(context.Background(), request(i)); err == nil {
			accepted++
		}
	}
	require.Error(t, err, "a 512 KiB budget cannot hold 8 MB")
	assert.ErrorIs(t, err, log.ErrFull)
	assert.False(t, consumererror.IsPermanent(err), "upstream must see a retryable error (Unavailable)")
	assert.Greater(t, accepted, 40)
	assert.LessOrEqual(t, segmentBytes(t, cfg.Directory), cfg.Retention.MaxSize)
	assert.Equal(t, int64(1), metricValue(t, tt, "otelcol_comet_exporter_full_rejections"))
	assert.Equal(t, int64(accepted), metricValue(t, tt, "otelcol_comet_exporter_appended_records"))
	assert.Equal(t, int64(accepted*40), metricValue(t, tt, "otelcol_comet_exporter_appended_items"))
	assert.Equal(t, segmentBytes(t, cfg.Directory), metricValue(t, tt, "otelcol_comet_log_disk_usage"))

	// A consumer acknowledging everything frees whole segments: the same
	// request is accepted again.
	read := readBack(t, cfg.Directory, "traces")
	assert.Equal(t, accepted, len(read[0])+len(read[1]), "everything accepted is stored")
	require.NoError(t, exp.ConsumeTraces(context.Background(), request(-1)))
}

func TestExporter_WhenFullBlock_WaitsForSpaceWithinTheDeadline(t *testing.T) {
	cfg := fullConfig(t, WhenFullBlock)
	exp := startExporter(t, nopSettings(), cfg, NewFactory().CreateTraces)

	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err = exp.ConsumeTraces(ctx, request(i))
		cancel()
	}
	require.Error(t, err, "the log must fill and the wait end with the deadline")
	assert.ErrorIs(t, err, log.ErrFull)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, consumererror.IsPermanent(err))

	done := make(chan error, 1)
	go func() { done <- exp.ConsumeTraces(context.Background(), request(-1)) }()
	select {
	case err := <-done:
		t.Fatalf("append returned (%v) while the log is full", err)
	case <-time.After(300 * time.Millisecond):
	}
	readBack(t, cfg.Directory, "traces") // acknowledges everything
	select {
	case err := <-done:
		require.NoError(t, err, "the blocked request is written once space is freed")
	case <-time.After(10 * time.Second):
		t.Fatal("blocked append did not resume after consumers freed space")
	}
	assert.LessOrEqual(t, segmentBytes(t, cfg.Directory), cfg.Retention.MaxSize)
}

func TestExporter_WhenFullDropOldest_KeepsTheNewestWithinBudget(t *testing.T) {
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(context.Background())) }()
	cfg := fullConfig(t, WhenFullDropOldest)
	exp := startExporter(t, metadatatest.NewSettings(tt), cfg, NewFactory().CreateTraces)

	const n = 200 // about three budgets
	for i := range n {
		require.NoError(t, exp.ConsumeTraces(context.Background(), request(i)))
		require.LessOrEqual(t, segmentBytes(t, cfg.Directory), cfg.Retention.MaxSize+cfg.SegmentSize,
			"disk never above the budget plus one segment")
	}
	dropped := metricValue(t, tt, "otelcol_comet_log_dropped_records")
	assert.Greater(t, dropped, int64(n/2))
	assert.Equal(t, int64(0), metricValue(t, tt, "otelcol_comet_exporter_full_rejections"))

	read := readBack(t, cfg.Directory, "traces")
	kept := len(read[0]) + len(read[1])
	assert.Equal(t, int64(n), dropped+int64(kept), "every record is either kept or counted as dropped")
	last, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(read[(n-1)%2][len(read[(n-1)%2])-1])
	require.NoError(t, err)
	assert.Equal(t, flattenTraces(request(n-1)), flattenTraces(last), "the newest request is kept")
}

func TestExporter_NotStartedFails(t *testing.T) {
	e, err := newSignalExporter(testConfig(t), nopSettings(), otlpstream.Traces)
	require.NoError(t, err)
	err = e.push(context.Background(), request(0))
	require.ErrorContains(t, err, "not started")
}

func TestExporter_StandardTelemetry(t *testing.T) {
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(context.Background())) }()
	cfg := testConfig(t)
	exp := startExporter(t, metadatatest.NewSettings(tt), cfg, NewFactory().CreateMetrics)
	require.NoError(t, exp.ConsumeMetrics(context.Background(), genMetrics(1, 1, 3, 4, 1)))
	assert.Equal(t, int64(12), metricValue(t, tt, "otelcol_exporter_sent_metric_points"))
	assert.Equal(t, int64(12), metricValue(t, tt, "otelcol_comet_exporter_appended_items"))
}
