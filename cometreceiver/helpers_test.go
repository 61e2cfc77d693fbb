// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/comet-otel/comet/cometexporter"
	"github.com/comet-otel/comet/cometreceiver/internal/metadata"
)

var exporterType = component.MustNewType("comet")

// exporterConfig is the comet exporter's default config on dir, without
// fsync so tests stay fast.
func exporterConfig(dir string) *cometexporter.Config {
	cfg := cometexporter.NewFactory().CreateDefaultConfig().(*cometexporter.Config)
	cfg.Directory = dir
	cfg.Sync.Mode = cometexporter.SyncNone
	return cfg
}

// receiverConfig is the receiver's default config on dir with short
// intervals, sending at once (tests time their deliveries; the flush
// timeout has its own test).
func receiverConfig(dir string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = dir
	cfg.Batch.FlushTimeout = 0
	cfg.PollInterval = 20 * time.Millisecond
	cfg.RetryOnFailure.InitialInterval = 10 * time.Millisecond
	cfg.RetryOnFailure.MaxInterval = 50 * time.Millisecond
	return cfg
}

func exporterSettings() exporter.Settings { return exportertest.NewNopSettings(exporterType) }

// receiverSettings names the receiver "comet", as a collector would, so
// restarted receivers are the same consumer group (NopSettings makes a
// random name).
func receiverSettings() receiver.Settings {
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type)
	return set
}

// started is a component the test shuts down, at the latest at its end.
type started struct {
	component.Component
	once sync.Once
	err  error
}

func (s *started) stop() error {
	s.once.Do(func() { s.err = s.Shutdown(context.Background()) })
	return s.err
}

func start[T component.Component](t testing.TB, c T, err error) (T, *started) {
	t.Helper()
	require.NoError(t, err)
	return startComponent(t, c)
}

func startComponent[T component.Component](t testing.TB, c T) (T, *started) {
	t.Helper()
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	s := &started{Component: c}
	t.Cleanup(func() { require.NoError(t, s.stop()) })
	return c, s
}

func startTracesExporter(t testing.TB, cfg *cometexporter.Config) (exporter.Traces, *started) {
	c, err := cometexporter.NewFactory().CreateTraces(context.Background(), exporterSettings(), cfg)
	return start(t, c, err)
}

func startMetricsExporter(t testing.TB, cfg *cometexporter.Config) (exporter.Metrics, *started) {
	c, err := cometexporter.NewFactory().CreateMetrics(context.Background(), exporterSettings(), cfg)
	return start(t, c, err)
}

func startLogsExporter(t testing.TB, cfg *cometexporter.Config) (exporter.Logs, *started) {
	c, err := cometexporter.NewFactory().CreateLogs(context.Background(), exporterSettings(), cfg)
	return start(t, c, err)
}

func startTracesReceiver(t testing.TB, set receiver.Settings, cfg *Config, next consumer.Traces) *started {
	c, err := NewFactory().CreateTraces(context.Background(), set, cfg, next)
	_, s := start(t, c, err)
	return s
}

func startMetricsReceiver(t testing.TB, set receiver.Settings, cfg *Config, next consumer.Metrics) *started {
	c, err := NewFactory().CreateMetrics(context.Background(), set, cfg, next)
	_, s := start(t, c, err)
	return s
}

func startLogsReceiver(t testing.TB, set receiver.Settings, cfg *Config, next consumer.Logs) *started {
	c, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	_, s := start(t, c, err)
	return s
}

// eventually waits for cond, failing the test after timeout.
func eventually(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: "+format, append([]any{timeout}, args...)...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func traceID(n uint64) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], n*0x9E3779B97F4A7C15)
	binary.BigEndian.PutUint64(id[8:], n+1)
	return id
}

// genTraces makes one request: two resources, spans spans each, with
// spansPerTrace consecutive spans per trace and unique names.
func genTraces(seq, spans, spansPerTrace int) ptrace.Traces {
	td := ptrace.NewTraces()
	n := 0
	for r := range 2 {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", (seq+r)%7))
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("test")
		for range spans {
			sp := ss.Spans().AppendEmpty()
			sp.SetTraceID(traceID(uint64(seq)<<20 | uint64(n/spansPerTrace)))
			sp.SetSpanID(pcommon.SpanID{byte(n), byte(seq), 1, 2, 3, 4, 5, 6})
			sp.SetName(fmt.Sprintf("span-%d-%d", seq, n))
			sp.SetStartTimestamp(pcommon.Timestamp(1e18 + uint64(n)))
			sp.Attributes().PutInt("seq", int64(seq))
			n++
		}
	}
	return td
}

func genMetrics(seq, points int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", seq%5))
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("requests")
	dps := m.SetEmptySum().DataPoints()
	for p := range points {
		dp := dps.AppendEmpty()
		dp.SetIntValue(int64(seq*1000 + p))
		dp.Attributes().PutInt("seq", int64(seq))
	}
	return md
}

// genLogs makes one request of records log records whose bodies carry seq.
func genLogs(seq, records int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", seq%3))
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := range records {
		lr := lrs.AppendEmpty()
		lr.Body().SetStr(fmt.Sprintf("seq=%d record=%d", seq, i))
	}
	return ld
}

// logSeqs returns the seq of each request made by genLogs that ld holds,
// in order: the receiver merges records, and merges equal resources, so
// requests are found by their first log record ("record=0").
func logSeqs(ld plog.Logs) []int {
	var seqs []int
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				fields := strings.Fields(lr.Body().Str())
				if len(fields) == 2 && fields[1] == "record=0" {
					n, _ := strconv.Atoi(strings.TrimPrefix(fields[0], "seq="))
					seqs = append(seqs, n)
				}
			}
		}
	}
	return seqs
}

// seqSink records which requests (by seq) a logs pipeline received.
type seqSink struct {
	mu       sync.Mutex
	counts   map[int]int
	total    int                                           // requests of genLogs received, duplicates included
	requests int                                           // downstream requests (merged) accepted
	consume  func(ctx context.Context, ld plog.Logs) error // optional: decides the answer
}

func newSeqSink() *seqSink { return &seqSink{counts: map[int]int{}} }

func (s *seqSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *seqSink) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if s.consume != nil {
		if err := s.consume(ctx, ld); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seq := range logSeqs(ld) {
		s.counts[seq]++
		s.total++
	}
	s.requests++
	return nil
}

func (s *seqSink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.counts)
}

func (s *seqSink) snapshot() (map[int]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(map[int]int, len(s.counts))
	for k, v := range s.counts {
		c[k] = v
	}
	return c, s.total
}
