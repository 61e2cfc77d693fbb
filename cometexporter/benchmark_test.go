// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/comet-otel/comet/internal/otlpstream"
)

// benchItems is the number of spans or log records per request.
const benchItems = 100

// benchTraces is a request of 100 spans with attributes typical of HTTP
// server spans, about 20 KiB of OTLP protobuf.
func benchTraces(seed int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	res := rs.Resource().Attributes()
	res.PutStr("service.name", "checkout")
	res.PutStr("service.version", "1.4.2")
	res.PutStr("host.name", "edge-gw-07")
	res.PutStr("deployment.environment", "production")
	spans := rs.ScopeSpans().AppendEmpty()
	spans.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
	for i := range benchItems {
		sp := spans.Spans().AppendEmpty()
		sp.SetTraceID(traceID(uint64(seed*benchItems+i) / 10))
		sp.SetSpanID(pcommon.SpanID{byte(i), byte(seed), byte(seed >> 8), 4, 5, 6, 7, 8})
		sp.SetParentSpanID(pcommon.SpanID{byte(i - 1), byte(seed), 3, 4, 5, 6, 7, 8})
		sp.SetName("GET /api/v1/orders/{id}")
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + uint64(i)*1000))
		sp.SetEndTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + uint64(i)*1000 + 2_500_000))
		a := sp.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("http.route", "/api/v1/orders/{id}")
		a.PutStr("url.path", fmt.Sprintf("/api/v1/orders/%d", seed*benchItems+i))
		a.PutInt("http.response.status_code", 200)
		a.PutStr("server.address", "orders.internal")
		a.PutInt("server.port", 8080)
		a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)")
		a.PutStr("network.protocol.version", "1.1")
		sp.Status().SetCode(ptrace.StatusCodeOk)
	}
	return td
}

// benchLogs is a request of 100 log records, about 15 KiB of OTLP.
func benchLogs(seed int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	rl.Resource().Attributes().PutStr("host.name", "edge-gw-07")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := range benchItems {
		lr := records.AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + uint64(i)*1000))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.Body().SetStr(fmt.Sprintf("order %d accepted: 3 items, total 42.50 EUR, payment authorised by provider in 118 ms", seed*benchItems+i))
		lr.Attributes().PutStr("logger", "orders.api")
		lr.Attributes().PutInt("thread", int64(i%8))
		lr.SetTraceID(traceID(uint64(seed*benchItems + i)))
	}
	return ld
}

// BenchmarkExporter_ConsumeTraces and BenchmarkExporter_ConsumeLogs append
// 100-item requests from concurrent callers, as an OTLP receiver would,
// with each sync mode and default compression (zstd above 4 KiB).
func BenchmarkExporter_ConsumeTraces(b *testing.B) {
	for _, mode := range []SyncMode{SyncNone, SyncInterval, SyncAlways} {
		b.Run("sync="+string(mode), func(b *testing.B) {
			cfg := testConfig(b)
			cfg.Sync.Mode = mode
			cfg.Retention.MaxSize = 0 // measure appends, not retention
			exp := startExporter(b, nopSettings(), cfg, NewFactory().CreateTraces)
			reqs := make([]ptrace.Traces, 64)
			for i := range reqs {
				reqs[i] = benchTraces(i)
				reqs[i].MarkReadOnly()
			}
			size, err := otlpstream.Traces.Marshal(reqs[0])
			require.NoError(b, err)
			runParallel(b, len(size), func(i int) error { return exp.ConsumeTraces(context.Background(), reqs[i%len(reqs)]) })
		})
	}
}

func BenchmarkExporter_ConsumeLogs(b *testing.B) {
	for _, mode := range []SyncMode{SyncNone, SyncInterval, SyncAlways} {
		b.Run("sync="+string(mode), func(b *testing.B) {
			cfg := testConfig(b)
			cfg.Sync.Mode = mode
			cfg.Retention.MaxSize = 0
			exp := startExporter(b, nopSettings(), cfg, NewFactory().CreateLogs)
			reqs := make([]plog.Logs, 64)
			for i := range reqs {
				reqs[i] = benchLogs(i)
				reqs[i].MarkReadOnly()
			}
			size, err := otlpstream.Logs.Marshal(reqs[0])
			require.NoError(b, err)
			runParallel(b, len(size), func(i int) error { return exp.ConsumeLogs(context.Background(), reqs[i%len(reqs)]) })
		})
	}
}

// runParallel calls consume from 4 goroutines per CPU and reports bytes/s
// and items/s.
func runParallel(b *testing.B, requestBytes int, consume func(i int) error) {
	b.SetBytes(int64(requestBytes))
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := consume(i); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N*benchItems)/b.Elapsed().Seconds(), "items/s")
}
