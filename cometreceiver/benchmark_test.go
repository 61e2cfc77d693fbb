// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// benchTraces is a request of 100 HTTP server spans (about 37 KiB of
// OTLP), the shape the exporter benchmarks append.
func benchTraces(seed int) ptrace.Traces { return benchTracesN(seed, 100) }

// benchTracesN is a request of n such spans.
func benchTracesN(seed, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	rs.Resource().Attributes().PutStr("host.name", "edge-gw-07")
	spans := rs.ScopeSpans().AppendEmpty()
	spans.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
	for i := range n {
		sp := spans.Spans().AppendEmpty()
		sp.SetTraceID(traceID(uint64(seed*100+i) / 10))
		sp.SetSpanID(pcommon.SpanID{byte(i), byte(seed), byte(seed >> 8), 4, 5, 6, 7, 8})
		sp.SetName("GET /api/v1/orders/{id}")
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + uint64(i)*1000))
		sp.SetEndTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + uint64(i)*1000 + 2_500_000))
		a := sp.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("http.route", "/api/v1/orders/{id}")
		a.PutStr("url.path", fmt.Sprintf("/api/v1/orders/%d", seed*100+i))
		a.PutInt("http.response.status_code", 200)
		a.PutStr("server.address", "orders.internal")
		a.PutInt("server.port", 8080)
		a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)")
		a.PutStr("network.protocol.version", "1.1")
	}
	return td
}

// countingTraces is a nop consumer that counts spans.
type countingTraces struct{ spans atomic.Int64 }

func (c *countingTraces) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *countingTraces) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	c.spans.Add(int64(td.SpanCount()))
	return nil
}

// BenchmarkReceiver_Drain measures how fast a backlog of 100-span records
// (default zstd compression) is decoded and delivered to a nop consumer,
// with several worker counts and read batch sizes. b.N is the number of records.
func BenchmarkReceiver_Drain(b *testing.B) {
	for _, tc := range []struct{ workers, batch int }{{1, 4096}, {2, 4096}, {8, 4096}, {8, 100}} {
		b.Run(fmt.Sprintf("workers=%d/max_items=%d", tc.workers, tc.batch), func(b *testing.B) {
			dir := b.TempDir()
			exp, s := startTracesExporter(b, exporterConfig(dir))
			reqs := make([]ptrace.Traces, 64)
			for i := range reqs {
				reqs[i] = benchTraces(i)
			}
			for i := range b.N {
				require.NoError(b, exp.ConsumeTraces(context.Background(), reqs[i%len(reqs)]))
			}
			require.NoError(b, s.stop())
			size, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(reqs[0])
			require.NoError(b, err)

			cfg := receiverConfig(dir)
			cfg.Workers, cfg.Batch.MaxItems = tc.workers, tc.batch
			sink := &countingTraces{}
			want := int64(b.N) * 100
			b.SetBytes(int64(len(size)))
			b.ReportAllocs()
			b.ResetTimer()
			r := startTracesReceiver(b, receiverSettings(), cfg, sink)
			for sink.spans.Load() < want {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			require.NoError(b, r.stop())
			b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// roundTripTraces is a consumer that takes a fixed time per request, as a
// backend one network round trip away does, and counts spans.
type roundTripTraces struct {
	countingTraces
	rtt time.Duration
}

func (c *roundTripTraces) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	time.Sleep(c.rtt)
	return c.countingTraces.ConsumeTraces(ctx, td)
}

// BenchmarkReceiver_DrainBySize measures what merging records into
// requests buys when requests are small: a backlog of records of 1, 10 or
// 100 spans drained by the default 4 workers into a backend that takes
// 1 ms per request, with batch::max_items from 1 (one request per record)
// to 16384. b.N is the number of records; items/s is the figure to read.
func BenchmarkReceiver_DrainBySize(b *testing.B) {
	for _, spans := range []int{1, 10, 100} {
		for _, maxItems := range []int{1, 512, 4096, 16384} {
			b.Run(fmt.Sprintf("spans=%d/max_items=%d", spans, maxItems), func(b *testing.B) {
				dir := b.TempDir()
				exp, s := startTracesExporter(b, exporterConfig(dir))
				reqs := make([]ptrace.Traces, 64)
				for i := range reqs {
					reqs[i] = benchTracesN(i, spans)
				}
				for i := range b.N {
					require.NoError(b, exp.ConsumeTraces(context.Background(), reqs[i%len(reqs)]))
				}
				require.NoError(b, s.stop())

				cfg := receiverConfig(dir)
				cfg.Batch.MaxItems = maxItems
				sink := &roundTripTraces{rtt: time.Millisecond}
				want := int64(b.N * spans)
				b.ReportAllocs()
				b.ResetTimer()
				r := startTracesReceiver(b, receiverSettings(), cfg, sink)
				for sink.spans.Load() < want {
					time.Sleep(time.Millisecond)
				}
				b.StopTimer()
				require.NoError(b, r.stop())
				b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "items/s")
			})
		}
	}
}
