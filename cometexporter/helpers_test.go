// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/comet-otel/comet/cometexporter/internal/metadata"
	"github.com/comet-otel/comet/internal/log"
	"github.com/comet-otel/comet/internal/sharedlog"
)

// testConfig is a default config on a fresh temporary directory, without
// fsync so tests stay fast.
func testConfig(t testing.TB) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = t.TempDir()
	cfg.Sync.Mode = SyncNone
	return cfg
}

// startExporter creates and starts one signal's exporter; it is shut down
// at the end of the test.
func startExporter[T component.Component](t testing.TB, set exporter.Settings, cfg *Config,
	create func(context.Context, exporter.Settings, component.Config) (T, error),
) T {
	t.Helper()
	exp, err := create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return exp
}

func nopSettings() exporter.Settings { return exportertest.NewNopSettings(metadata.Type) }

// readBack returns every record of a namespace in dir, per shard, reading
// through the directory's shared client (joining a running exporter's).
func readBack(t testing.TB, dir, namespace string) map[uint32][][]byte {
	t.Helper()
	h, err := sharedlog.Default().OpenReader(dir, zap.NewNop(), "test-reader")
	require.NoError(t, err)
	defer func() { require.NoError(t, h.Release()) }()
	c := log.NewConsumer(h.Client(), log.ConsumerOptions{Group: "test-reader", Stream: namespace + ":v1:shard:*"})
	defer c.Close()
	out := map[uint32][][]byte{}
	for {
		msgs, err := c.Read(context.Background(), nil, 1000)
		require.NoError(t, err)
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			out[m.ID.ShardID] = append(out[m.ID.ShardID], m.Data)
		}
		require.NoError(t, c.Ack(context.Background(), lastPerShard(msgs)...))
	}
}

func lastPerShard(msgs []log.StreamMessage) []log.MessageID {
	var ids []log.MessageID
	for i, m := range msgs {
		if i == len(msgs)-1 || msgs[i+1].ID.ShardID != m.ID.ShardID {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

func traceID(n uint64) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], n*0x9E3779B97F4A7C15)
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

// genTraces makes resources × scopes × spans spans; spansPerTrace
// consecutive spans share a trace ID, and every span has a unique name.
func genTraces(resources, scopes, spans, spansPerTrace int, seed uint64) ptrace.Traces {
	rng := rand.New(rand.NewPCG(seed, 1))
	td := ptrace.NewTraces()
	n := 0
	for r := range resources {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d-%d", seed, r))
		rs.Resource().Attributes().PutInt("host.index", int64(r))
		rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		for s := range scopes {
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(fmt.Sprintf("scope-%d", s))
			for range spans {
				sp := ss.Spans().AppendEmpty()
				sp.SetTraceID(traceID(seed<<32 | uint64(n/spansPerTrace)))
				var sid pcommon.SpanID
				binary.BigEndian.PutUint64(sid[:], rng.Uint64())
				sp.SetSpanID(sid)
				sp.SetName(fmt.Sprintf("span-%d-%d", seed, n))
				sp.SetStartTimestamp(pcommon.Timestamp(1e18 + uint64(n)))
				sp.SetEndTimestamp(pcommon.Timestamp(1e18 + uint64(n) + 1000))
				sp.Attributes().PutStr("http.route", "/api/v1/items")
				sp.Attributes().PutInt("payload", rng.Int64())
				n++
			}
		}
	}
	return td
}

func genLogs(resources, scopes, records int, seed uint64) plog.Logs {
	ld := plog.NewLogs()
	n := 0
	for r := range resources {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d-%d", seed, r))
		for s := range scopes {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(fmt.Sprintf("scope-%d", s))
			for range records {
				lr := sl.LogRecords().AppendEmpty()
				lr.Body().SetStr(fmt.Sprintf("log line %d-%d: something happened", seed, n))
				lr.SetTimestamp(pcommon.Timestamp(1e18 + uint64(n)))
				lr.SetSeverityNumber(plog.SeverityNumberInfo)
				n++
			}
		}
	}
	return ld
}

// genMetrics makes resources × scopes × metrics gauges of points points
// each.
func genMetrics(resources, scopes, metrics, points int, seed uint64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for r := range resources {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d-%d", seed, r))
		for s := range scopes {
			sm := rm.ScopeMetrics().AppendEmpty()
			sm.Scope().SetName(fmt.Sprintf("scope-%d", s))
			for m := range metrics {
				metric := sm.Metrics().AppendEmpty()
				metric.SetName(fmt.Sprintf("metric-%d", m))
				dps := metric.SetEmptyGauge().DataPoints()
				for p := range points {
					dp := dps.AppendEmpty()
					dp.SetIntValue(int64(p))
					dp.SetTimestamp(pcommon.Timestamp(1e18 + uint64(p)))
					dp.Attributes().PutStr("point", fmt.Sprintf("p-%d-%d", seed, p))
				}
			}
		}
	}
	return md
}
