// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/comet-otel/comet/cometexporter"
	"github.com/comet-otel/comet/cometreceiver/internal/metadatatest"
	"github.com/comet-otel/comet/internal/log"
)

func metricValue(t *testing.T, tt *componenttest.Telemetry, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	m, err := tt.GetMetric(name)
	if err != nil && strings.Contains(err.Error(), "not found") {
		return 0 // a counter never incremented is not reported
	}
	require.NoError(t, err)
	want := attribute.NewSet(attrs...)
	var sum int64
	add := func(set attribute.Set, v int64) {
		if len(attrs) == 0 || set.Equals(&want) {
			sum += v
		}
	}
	switch data := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range data.DataPoints {
			add(dp.Attributes, dp.Value)
		}
	case metricdata.Gauge[int64]:
		for _, dp := range data.DataPoints {
			add(dp.Attributes, dp.Value)
		}
	default:
		t.Fatalf("metric %s has unexpected data %T", name, m.Data)
	}
	return sum
}

// hasSeq reports whether ld holds the request seq made by genLogs.
func hasSeq(ld plog.Logs, seq int) bool {
	return slices.Contains(logSeqs(ld), seq)
}

func newTelemetry(t *testing.T) *componenttest.Telemetry {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	return tt
}

func TestFailures_RetryableErrorsRetryTheSameRecordUntilAccepted(t *testing.T) {
	dir := t.TempDir()
	writeLogs(t, dir, 50)
	tt := newTelemetry(t)
	var failures atomic.Int64
	outageUntil := time.Now().Add(300 * time.Millisecond)
	sink := newSeqSink()
	sink.consume = func(context.Context, plog.Logs) error {
		if time.Now().Before(outageUntil) {
			failures.Add(1)
			return errors.New("backend unavailable")
		}
		return nil
	}
	cfg := receiverConfig(dir)
	cfg.Workers = 1
	startLogsReceiver(t, metadatatest.NewSettings(tt), cfg, sink)

	eventually(t, 10*time.Second, func() bool { return sink.distinct() == 50 }, "everything delivered after the outage")
	time.Sleep(50 * time.Millisecond)
	counts, total := sink.snapshot()
	assert.Equal(t, 50, total, "nothing skipped, nothing delivered twice")
	for seq := range 50 {
		assert.Equal(t, 1, counts[seq])
	}
	assert.Greater(t, failures.Load(), int64(3), "the outage lasted several attempts")
	assert.Equal(t, failures.Load(), metricValue(t, tt, "otelcol_comet_receiver_delivery_failures", attribute.String("kind", "retryable")))
	assert.Equal(t, int64(50), metricValue(t, tt, "otelcol_comet_receiver_delivered_records"))
	assert.Equal(t, int64(0), metricValue(t, tt, "otelcol_comet_receiver_skipped_records"))
	assert.Equal(t, int64(50*2), metricValue(t, tt, "otelcol_receiver_accepted_log_records"))
}

func TestFailures_RecordsBeforeARetriedOneStayAcknowledged(t *testing.T) {
	dir := t.TempDir()
	ecfg := exporterConfig(dir)
	ecfg.Shards = 1
	exp, s := startLogsExporter(t, ecfg)
	for seq := range 5 {
		require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(seq, 1)))
	}
	require.NoError(t, s.stop())

	tt := newTelemetry(t)
	var up atomic.Bool
	sink := newSeqSink()
	sink.consume = func(_ context.Context, ld plog.Logs) error {
		if hasSeq(ld, 2) && !up.Load() {
			return errors.New("backend down")
		}
		return nil
	}
	cfg := receiverConfig(dir)
	cfg.Workers = 1
	cfg.Batch.MaxItems = 1 // a request per record
	startLogsReceiver(t, metadatatest.NewSettings(tt), cfg, sink)
	attrs := []attribute.KeyValue{attribute.String("group", "comet"), attribute.String("signal", "logs")}
	eventually(t, 10*time.Second, func() bool { return metricValue(t, tt, "otelcol_comet_receiver_lag", attrs...) == 3 },
		"records 0 and 1 acknowledged while record 2 is retried, in the same batch")
	up.Store(true)
	eventually(t, 10*time.Second, func() bool { return metricValue(t, tt, "otelcol_comet_receiver_lag", attrs...) == 0 }, "lag drains")
	counts, total := sink.snapshot()
	assert.Equal(t, map[int]int{0: 1, 1: 1, 2: 1, 3: 1, 4: 1}, counts)
	assert.Equal(t, 5, total)
}

func TestFailures_PermanentErrorsAreSkippedAndCounted(t *testing.T) {
	dir := t.TempDir()
	writeLogs(t, dir, 40)
	tt := newTelemetry(t)
	sink := newSeqSink()
	sink.consume = func(_ context.Context, ld plog.Logs) error {
		for _, seq := range logSeqs(ld) {
			if seq%10 == 3 {
				return consumererror.NewPermanent(errors.New("schema violation"))
			}
		}
		return nil
	}
	startLogsReceiver(t, metadatatest.NewSettings(tt), receiverConfig(dir), sink)
	eventually(t, 10*time.Second, func() bool { return sink.distinct() == 36 }, "the accepted records delivered")
	eventually(t, 10*time.Second, func() bool {
		return metricValue(t, tt, "otelcol_comet_receiver_lag", attribute.String("group", "comet"), attribute.String("signal", "logs")) == 0
	}, "refused records are acknowledged too: lag drains to zero")
	counts, total := sink.snapshot()
	assert.Equal(t, 36, total, "merged requests are narrowed down: every good record once, no bad one")
	for seq, n := range counts {
		assert.NotEqual(t, 3, seq%10)
		assert.Equal(t, 1, n)
	}
	assert.Equal(t, int64(4), metricValue(t, tt, "otelcol_comet_receiver_skipped_records", attribute.String("reason", "refused")))
	assert.Zero(t, metricValue(t, tt, "otelcol_comet_receiver_delivery_failures", attribute.String("kind", "retryable")), "a permanent error is not retried")
}

func TestFailures_MaxElapsedTimeDropsAndCounts(t *testing.T) {
	dir := t.TempDir()
	writeLogs(t, dir, 3)
	tt := newTelemetry(t)
	sink := newSeqSink()
	sink.consume = func(_ context.Context, ld plog.Logs) error {
		if hasSeq(ld, 1) {
			return errors.New("this one never goes through")
		}
		return nil
	}
	cfg := receiverConfig(dir)
	cfg.Workers = 1
	cfg.RetryOnFailure.MaxElapsedTime = 200 * time.Millisecond
	startLogsReceiver(t, metadatatest.NewSettings(tt), cfg, sink)
	eventually(t, 10*time.Second, func() bool { return sink.distinct() == 2 }, "the others, merged with it at first, delivered")
	eventually(t, 10*time.Second, func() bool {
		return metricValue(t, tt, "otelcol_comet_receiver_skipped_records", attribute.String("reason", "expired")) == 1
	}, "only the record that never goes through dropped and counted")
}

func TestFailures_UndecodableRecordIsSkippedAndCounted(t *testing.T) {
	dir := t.TempDir()
	client, err := log.NewClientWithConfig(dir, log.DefaultCometConfig())
	require.NoError(t, err)
	m := &plog.ProtoMarshaler{}
	var records [][]byte
	for seq := range 5 {
		b, err := m.MarshalLogs(genLogs(seq, 1))
		require.NoError(t, err)
		records = append(records, b)
	}
	garbage := []byte{0xff, 0xff, 0xff, 0xff, 0x0f} // an unterminated varint field
	records = append(records[:2], append([][]byte{garbage}, records[2:]...)...)
	_, err = client.Append(context.Background(), "logs:v1:shard:0000", records)
	require.NoError(t, err)
	require.NoError(t, client.Close())

	tt := newTelemetry(t)
	sink := newSeqSink()
	startLogsReceiver(t, metadatatest.NewSettings(tt), receiverConfig(dir), sink)
	eventually(t, 10*time.Second, func() bool { return sink.distinct() == 5 }, "the valid records delivered")
	eventually(t, 10*time.Second, func() bool {
		return metricValue(t, tt, "otelcol_comet_receiver_skipped_records", attribute.String("reason", "undecodable")) == 1
	}, "the bad record counted")
}

func TestFailures_CorruptedRecordIsSkippedAndCounted(t *testing.T) {
	dir := t.TempDir()
	ecfg := exporterConfig(dir)
	ecfg.Shards = 1
	ecfg.Compression.Type = cometexporter.CompressionNone
	exp, s := startLogsExporter(t, ecfg)
	for seq := range 20 {
		require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(seq, 3)))
	}
	require.NoError(t, s.stop())

	// Flip a byte in the payload of entry 7.
	path := filepath.Join(dir, "logs", "v1", "shard-0000", "log-0000000000000000.comet")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	pos := 0
	for range 7 {
		pos += 20 + int(binary.LittleEndian.Uint32(data[pos:]))
	}
	data[pos+20+10] ^= 0x40
	require.NoError(t, os.WriteFile(path, data, 0o600))

	tt := newTelemetry(t)
	sink := newSeqSink()
	startLogsReceiver(t, metadatatest.NewSettings(tt), receiverConfig(dir), sink)
	eventually(t, 10*time.Second, func() bool { return sink.distinct() == 19 }, "every intact record delivered")
	time.Sleep(50 * time.Millisecond)
	counts, _ := sink.snapshot()
	assert.Zero(t, counts[7], "the damaged record is never delivered")
	eventually(t, 5*time.Second, func() bool {
		return metricValue(t, tt, "otelcol_comet_log_lost_records")+metricValue(t, tt, "otelcol_comet_log_corrupt_records") == 1
	}, "the damaged record is counted")
}

func TestFailures_ShutdownIsPromptAndDoesNotAckUndelivered(t *testing.T) {
	dir := t.TempDir()
	writeLogs(t, dir, 5)
	entered := make(chan struct{}, 1)
	blocked := newSeqSink()
	blocked.consume = func(ctx context.Context, ld plog.Logs) error {
		if hasSeq(ld, 2) {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-ctx.Done() // a backend that hangs until cancelled
			return ctx.Err()
		}
		return nil
	}
	cfg := receiverConfig(dir)
	cfg.Workers = 1
	cfg.Batch.MaxItems = 1 // a request per record
	r := startLogsReceiver(t, receiverSettings(), cfg, blocked)
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("record 2 never reached the consumer")
	}
	begin := time.Now()
	require.NoError(t, r.stop())
	assert.Less(t, time.Since(begin), 2*time.Second, "shutdown cancels the delivery in flight")
	firstCounts, _ := blocked.snapshot()
	assert.Equal(t, map[int]int{0: 1, 1: 1}, firstCounts)

	next := newSeqSink()
	startLogsReceiver(t, receiverSettings(), cfg, next)
	eventually(t, 10*time.Second, func() bool { return next.distinct() == 3 }, "the undelivered records come next")
	time.Sleep(50 * time.Millisecond)
	counts, total := next.snapshot()
	assert.Equal(t, map[int]int{2: 1, 3: 1, 4: 1}, counts, "delivered records were acknowledged; the rest were not")
	assert.Equal(t, 3, total)
}

func TestFailures_LagReportsTheBacklogPerGroupAndSignal(t *testing.T) {
	dir := t.TempDir()
	writeLogs(t, dir, 30)
	tt := newTelemetry(t)
	var open atomic.Bool
	sink := newSeqSink()
	sink.consume = func(context.Context, plog.Logs) error {
		if !open.Load() {
			return errors.New("closed")
		}
		return nil
	}
	cfg := receiverConfig(dir)
	cfg.Group = "uplink"
	startLogsReceiver(t, metadatatest.NewSettings(tt), cfg, sink)
	attrs := []attribute.KeyValue{attribute.String("group", "uplink"), attribute.String("signal", "logs")}
	assert.Equal(t, int64(30), metricValue(t, tt, "otelcol_comet_receiver_lag", attrs...))
	open.Store(true)
	eventually(t, 10*time.Second, func() bool { return metricValue(t, tt, "otelcol_comet_receiver_lag", attrs...) == 0 }, "lag drains")
	assert.Equal(t, 30, sink.distinct())
}
