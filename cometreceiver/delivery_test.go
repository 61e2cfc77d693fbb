// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/comet-otel/comet/cometreceiver/internal/metadatatest"

	"github.com/comet-otel/comet/internal/health/healthtest"
)

// backend is a next consumer that can be switched down (retryable errors)
// and that measures how many requests are in flight at once.
type backend struct {
	*seqSink
	up       atomic.Bool
	inFlight atomic.Int32
	maxSince atomic.Int32 // most requests in flight at once since reset
	calls    atomic.Int64
	firstOK  atomic.Int64 // Unix nanoseconds of the first accepted request since reset
}

func newBackend() *backend {
	b := &backend{seqSink: newSeqSink()}
	b.seqSink.consume = b.answer
	return b
}

func (b *backend) answer(context.Context, plog.Logs) error {
	n := b.inFlight.Add(1)
	defer b.inFlight.Add(-1)
	for {
		m := b.maxSince.Load()
		if n <= m || b.maxSince.CompareAndSwap(m, n) {
			break
		}
	}
	b.calls.Add(1)
	time.Sleep(2 * time.Millisecond) // a round trip
	if !b.up.Load() {
		return errors.New("backend unavailable")
	}
	b.firstOK.CompareAndSwap(0, time.Now().UnixNano())
	return nil
}

// reset starts a new measurement window.
func (b *backend) reset() {
	b.maxSince.Store(b.inFlight.Load())
	b.calls.Store(0)
	b.firstOK.Store(0)
}

func TestDelivery_MergesSmallRecordsUpToMaxItemsInShardOrder(t *testing.T) {
	dir := t.TempDir()
	ecfg := exporterConfig(dir)
	ecfg.Shards = 1
	exp, s := startLogsExporter(t, ecfg)
	const n = 1000
	for seq := range n {
		require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(seq, 1)))
	}
	require.NoError(t, s.stop())

	var mu sync.Mutex
	var order []int
	var sizes []int
	sink := newSeqSink()
	sink.consume = func(_ context.Context, ld plog.Logs) error {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, logSeqs(ld)...)
		sizes = append(sizes, ld.LogRecordCount())
		return nil
	}
	cfg := receiverConfig(dir)
	cfg.Batch.MaxItems = 64
	startLogsReceiver(t, receiverSettings(), cfg, sink)
	eventually(t, 10*time.Second, func() bool { return sink.distinct() == n }, "every record delivered")
	mu.Lock()
	defer mu.Unlock()
	for i, seq := range order {
		require.Equal(t, i, seq, "one shard is delivered in entry order")
	}
	for _, size := range sizes {
		assert.LessOrEqual(t, size, 64)
	}
	assert.LessOrEqual(t, len(sizes), n/64+4, "1-item records travel 64 to a request")
}

func TestDelivery_MaxBytesBoundsMergedRequests(t *testing.T) {
	dir := t.TempDir()
	ecfg := exporterConfig(dir)
	ecfg.Shards = 1
	exp, s := startLogsExporter(t, ecfg)
	for seq := range 200 {
		require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(seq, 10)))
	}
	require.NoError(t, s.stop())
	record, err := (&plog.ProtoMarshaler{}).MarshalLogs(genLogs(100, 10))
	require.NoError(t, err)

	var mu sync.Mutex
	var bytes []int
	sink := newSeqSink()
	sink.consume = func(_ context.Context, ld plog.Logs) error {
		b, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
		mu.Lock()
		bytes = append(bytes, len(b))
		mu.Unlock()
		return err
	}
	cfg := receiverConfig(dir)
	cfg.Batch.MaxBytes = int64(8 * len(record))
	startLogsReceiver(t, receiverSettings(), cfg, sink)
	eventually(t, 10*time.Second, func() bool { return sink.distinct() == 200 }, "every record delivered")
	mu.Lock()
	defer mu.Unlock()
	for _, b := range bytes {
		assert.LessOrEqual(t, b, 8*len(record)+16, "a request holds at most max_bytes of records")
	}
	assert.Less(t, len(bytes), 200/4, "records are merged")
}

// TestDelivery_OutageProbesOneAtATimeAndResumesAtOnce checks what a down
// backend sees from a receiver with eight workers on 16 shards full of
// records: one request at a time at the probe interval, not one retry
// loop per worker; and that every worker resumes as soon as a probe is
// accepted.
func TestDelivery_OutageProbesOneAtATimeAndResumesAtOnce(t *testing.T) {
	dir := t.TempDir()
	writeLogs(t, dir, 2000)
	b := newBackend()
	core, logs := observer.New(zapcore.InfoLevel)
	tt := newTelemetry(t)
	set := metadatatest.NewSettings(tt)
	set.ID = receiverSettings().ID
	set.Logger = zap.New(core)
	cfg := receiverConfig(dir)
	cfg.RetryOnFailure.InitialInterval = 20 * time.Millisecond
	cfg.RetryOnFailure.MaxInterval = 100 * time.Millisecond
	cfg.RetryOnFailure.RandomizationFactor = 0
	host := healthtest.NewHost()
	c, err := NewFactory().CreateLogs(context.Background(), set, cfg, b)
	require.NoError(t, err)
	const summaryEvery = 300 * time.Millisecond // a minute in production
	c.(*cometReceiver).outages.summaryEvery = summaryEvery
	require.NoError(t, c.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, c.Shutdown(context.Background())) })

	eventually(t, 5*time.Second, func() bool { return b.calls.Load() >= 8 }, "the first requests fail")
	time.Sleep(50 * time.Millisecond) // requests sent before the outage began have returned
	b.reset()
	const window = time.Second
	time.Sleep(window)
	assert.Equal(t, int32(1), b.maxSince.Load(), "one probe at a time while the backend is down")
	assert.LessOrEqual(t, b.calls.Load(), int64(window/(100*time.Millisecond))+3, "probes are spaced by the schedule")
	assert.GreaterOrEqual(t, b.calls.Load(), int64(3), "probing goes on")
	assert.Zero(t, b.distinct(), "nothing was accepted")
	assert.Positive(t, metricFloat(t, tt, "otelcol_comet_receiver_backlog_age", attribute.String("group", "comet"), attribute.String("stream", "logs:v1:shard:0000")),
		"the backlog age grows while nothing is delivered")

	b.reset()
	up := time.Now()
	b.up.Store(true)
	eventually(t, 5*time.Second, func() bool { return b.firstOK.Load() != 0 }, "a probe accepted")
	// The next probe is due within max_interval (100ms); the rest is
	// scheduling slack on a loaded machine.
	assert.Less(t, time.Unix(0, b.firstOK.Load()).Sub(up), 400*time.Millisecond, "the first delivery follows at the next probe")
	eventually(t, 10*time.Second, func() bool { return b.distinct() == 2000 }, "everything delivered once the backend is back")
	assert.Greater(t, b.maxSince.Load(), int32(1), "every worker resumed")
	counts, total := b.snapshot()
	assert.Equal(t, 2000, total, "no duplicates: refused requests were not partly delivered")
	assert.Len(t, counts, 2000)

	warns := logs.FilterMessage("Delivery to the next consumer is failing; records stay on disk and are probed for, one request at a time")
	require.Equal(t, 1, warns.Len(), "one WARN when delivery starts failing")
	assert.Equal(t, zapcore.WarnLevel, warns.All()[0].Level)
	fields := warns.All()[0].ContextMap()
	assert.Positive(t, fields["backlog_records"], "the WARN says how much is waiting")
	assert.Contains(t, fields["error"], "backend unavailable")
	resumed := logs.FilterMessage("Delivery to the next consumer resumed")
	require.Equal(t, 1, resumed.Len(), "one INFO when delivery resumes")
	summaries := logs.FilterMessage("Delivery to the next consumer is still failing")
	lasted := resumed.All()[0].Time.Sub(warns.All()[0].Time)
	assert.GreaterOrEqual(t, summaries.Len(), 2, "a summary every summaryEvery while the outage lasts")
	assert.LessOrEqual(t, summaries.Len(), int(lasted/summaryEvery)+1, "no more than one per summaryEvery")
	if summaries.Len() > 0 {
		summary := summaries.All()[0].ContextMap()
		assert.Contains(t, summary, "down_for")
		assert.Positive(t, summary["failed_requests"])
		assert.Positive(t, summary["backlog_records"])
	}
	assert.Contains(t, resumed.All()[0].ContextMap(), "down_for")
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, host.Statuses(),
		"the health check sees the outage and the recovery")
}

func TestDelivery_TimeSinceLastDeliveryGrowsDuringAnOutage(t *testing.T) {
	dir := t.TempDir()
	exp, _ := startLogsExporter(t, exporterConfig(dir)) // a writer starts before its readers
	for seq := range 10 {
		require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(seq, 1)))
	}
	b := newBackend()
	b.up.Store(true)
	tt := newTelemetry(t)
	startLogsReceiver(t, metadatatest.NewSettings(tt), receiverConfig(dir), b)
	eventually(t, 5*time.Second, func() bool { return b.distinct() == 10 }, "delivered")
	b.up.Store(false)
	require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(10, 1)))
	time.Sleep(300 * time.Millisecond)
	attrs := []attribute.KeyValue{attribute.String("group", "comet"), attribute.String("signal", "logs")}
	since := metricFloat(t, tt, "otelcol_comet_receiver_time_since_last_delivery", attrs...)
	assert.GreaterOrEqual(t, since, 0.25)
	b.up.Store(true)
	eventually(t, 5*time.Second, func() bool { return b.distinct() == 11 }, "delivered after the outage")
	assert.Less(t, metricFloat(t, tt, "otelcol_comet_receiver_time_since_last_delivery", attrs...), since)
}

func TestDelivery_RetryDisabledSkipsAndCounts(t *testing.T) {
	dir := t.TempDir()
	writeLogs(t, dir, 20)
	tt := newTelemetry(t)
	b := newBackend() // down
	cfg := receiverConfig(dir)
	cfg.RetryOnFailure.Enabled = false
	startLogsReceiver(t, metadatatest.NewSettings(tt), cfg, b)
	eventually(t, 10*time.Second, func() bool {
		return metricValue(t, tt, "otelcol_comet_receiver_skipped_records", attribute.String("reason", "not_retried")) == 20
	}, "every refused record skipped and counted")
	assert.Zero(t, b.distinct())
}

// metricFloat returns the value of a float gauge with exactly attrs.
func metricFloat(t *testing.T, tt *componenttest.Telemetry, name string, attrs ...attribute.KeyValue) float64 {
	t.Helper()
	m, err := tt.GetMetric(name)
	require.NoError(t, err)
	gauge, ok := m.Data.(metricdata.Gauge[float64])
	require.True(t, ok, "metric %s has unexpected data %T", name, m.Data)
	want := attribute.NewSet(attrs...)
	for _, dp := range gauge.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value
		}
	}
	t.Fatalf("metric %s has no point with %v", name, attrs)
	return 0
}

// TestDelivery_FlappingBackendDoesNotFloodTheLog: a backend that refuses
// every other request causes many brief outages; the log gets the first
// one's WARN and INFO, and the others are only counted.
func TestDelivery_FlappingBackendDoesNotFloodTheLog(t *testing.T) {
	dir := t.TempDir()
	writeLogs(t, dir, 400)
	var calls atomic.Int64
	sink := newSeqSink()
	sink.consume = func(context.Context, plog.Logs) error {
		if calls.Add(1)%2 == 0 {
			return errors.New("503 Service Unavailable")
		}
		return nil
	}
	core, logs := observer.New(zapcore.InfoLevel)
	set := receiverSettings()
	set.Logger = zap.New(core)
	cfg := receiverConfig(dir)
	cfg.Batch.MaxItems = 4 // many requests, so many flaps
	startLogsReceiver(t, set, cfg, sink)
	eventually(t, 20*time.Second, func() bool { return sink.distinct() == 400 }, "everything delivered despite the flapping")
	assert.Greater(t, calls.Load(), int64(20), "the backend flapped many times")
	assert.Equal(t, 1, logs.FilterMessage("Delivery to the next consumer is failing; records stay on disk and are probed for, one request at a time").Len())
	assert.Equal(t, 1, logs.FilterMessage("Delivery to the next consumer resumed").Len())
}

// TestDelivery_FlushTimeoutMergesWhatAPipelineKeepingUpSends: with the
// receiver keeping up with its exporter, each record would otherwise be a
// request of its own; batch::flush_timeout holds small ones back so that
// they travel together, in order, and no later than the timeout.
func TestDelivery_FlushTimeoutMergesWhatAPipelineKeepingUpSends(t *testing.T) {
	for _, tc := range []struct {
		flush       time.Duration
		minRequests int
	}{
		{flush: 0, minRequests: 20},
		{flush: 200 * time.Millisecond, minRequests: 1},
	} {
		t.Run(tc.flush.String(), func(t *testing.T) {
			dir := t.TempDir()
			ecfg := exporterConfig(dir)
			ecfg.Shards = 1
			exp, _ := startLogsExporter(t, ecfg)
			var mu sync.Mutex
			var order []int
			requests := 0
			sink := newSeqSink()
			sink.consume = func(_ context.Context, ld plog.Logs) error {
				mu.Lock()
				defer mu.Unlock()
				order = append(order, logSeqs(ld)...)
				requests++
				return nil
			}
			cfg := receiverConfig(dir)
			cfg.Batch.FlushTimeout = tc.flush
			startLogsReceiver(t, receiverSettings(), cfg, sink)

			const n = 100 // over about a second
			began := time.Now()
			for seq := range n {
				require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(seq, 1)))
				time.Sleep(10 * time.Millisecond)
			}
			sent := time.Now()
			eventually(t, 10*time.Second, func() bool { return sink.distinct() == n }, "every record delivered")
			assert.Less(t, time.Since(sent), tc.flush+time.Second, "the last records wait at most the flush timeout")
			mu.Lock()
			defer mu.Unlock()
			for i, seq := range order {
				require.Equal(t, i, seq, "one shard is delivered in entry order")
			}
			assert.GreaterOrEqual(t, requests, tc.minRequests)
			if tc.flush > 0 {
				assert.LessOrEqual(t, requests, int(time.Since(began)/tc.flush)+3, "one request per flush timeout")
			}
		})
	}
}
