// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/comet-otel/comet/cometexporter"
	"github.com/comet-otel/comet/internal/log"
	"github.com/comet-otel/comet/internal/otlpstream"
	"github.com/comet-otel/comet/internal/sharedlog"
)

const roundTripRequests = 60

// The round-trip tests run the exporter and the receiver as one collector
// would: the exporter starts first and the receiver joins its client.

func TestRoundTrip_Traces(t *testing.T) {
	for _, by := range []cometexporter.PartitionBy{cometexporter.PartitionRoundRobin, cometexporter.PartitionTraceID, cometexporter.PartitionResource} {
		t.Run(string(by), func(t *testing.T) {
			dir := t.TempDir()
			ecfg := exporterConfig(dir)
			ecfg.Shards, ecfg.PartitionBy = 4, by
			exp, _ := startTracesExporter(t, ecfg)
			sink := new(consumertest.TracesSink)
			startTracesReceiver(t, receiverSettings(), receiverConfig(dir), sink)

			var sent []ptrace.Traces
			for seq := range roundTripRequests {
				td := genTraces(seq, 10, 3)
				sent = append(sent, td)
				require.NoError(t, exp.ConsumeTraces(context.Background(), td))
			}
			eventually(t, 10*time.Second, func() bool { return sink.SpanCount() >= roundTripRequests*20 }, "%d spans delivered", sink.SpanCount())
			time.Sleep(50 * time.Millisecond) // nothing more may arrive
			got := sink.AllTraces()
			assert.Equal(t, roundTripRequests*20, sink.SpanCount())
			assert.ElementsMatch(t, spansOf(sent), spansOf(got), "every span delivered once, under its resource and scope")
			if by != cometexporter.PartitionTraceID { // which splits resources by trace
				assert.ElementsMatch(t, itemsOf(t, otlpstream.Traces, sent), itemsOf(t, otlpstream.Traces, got),
					"every item arrives unchanged, under its resource and scope")
				assert.Less(t, len(got), roundTripRequests, "consecutive records are merged")
			}
			if by == cometexporter.PartitionTraceID {
				assertOneShardPerTrace(t, dir)
			}
		})
	}
}

func TestRoundTrip_Metrics(t *testing.T) {
	for _, by := range []cometexporter.PartitionBy{cometexporter.PartitionRoundRobin, cometexporter.PartitionResource} {
		t.Run(string(by), func(t *testing.T) {
			dir := t.TempDir()
			ecfg := exporterConfig(dir)
			ecfg.Shards, ecfg.PartitionBy = 4, by
			exp, _ := startMetricsExporter(t, ecfg)
			sink := new(consumertest.MetricsSink)
			startMetricsReceiver(t, receiverSettings(), receiverConfig(dir), sink)

			var sent []pmetric.Metrics
			for seq := range roundTripRequests {
				md := genMetrics(seq, 7)
				sent = append(sent, md)
				require.NoError(t, exp.ConsumeMetrics(context.Background(), md))
			}
			eventually(t, 10*time.Second, func() bool { return sink.DataPointCount() >= roundTripRequests*7 }, "data points delivered")
			time.Sleep(50 * time.Millisecond)
			assert.Equal(t, roundTripRequests*7, sink.DataPointCount())
			assert.ElementsMatch(t, itemsOf(t, otlpstream.Metrics, sent), itemsOf(t, otlpstream.Metrics, sink.AllMetrics()),
				"every item arrives unchanged, under its resource and scope")
		})
	}
}

func TestRoundTrip_Logs(t *testing.T) {
	for _, by := range []cometexporter.PartitionBy{cometexporter.PartitionRoundRobin, cometexporter.PartitionResource} {
		t.Run(string(by), func(t *testing.T) {
			dir := t.TempDir()
			ecfg := exporterConfig(dir)
			ecfg.Shards, ecfg.PartitionBy = 4, by
			exp, _ := startLogsExporter(t, ecfg)
			sink := new(consumertest.LogsSink)
			startLogsReceiver(t, receiverSettings(), receiverConfig(dir), sink)

			var sent []plog.Logs
			for seq := range roundTripRequests {
				ld := genLogs(seq, 9)
				sent = append(sent, ld)
				require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
			}
			eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= roundTripRequests*9 }, "log records delivered")
			time.Sleep(50 * time.Millisecond)
			assert.Equal(t, roundTripRequests*9, sink.LogRecordCount())
			assert.ElementsMatch(t, itemsOf(t, otlpstream.Logs, sent), itemsOf(t, otlpstream.Logs, sink.AllLogs()),
				"every item arrives unchanged, under its resource and scope")
		})
	}
}

// TestRoundTrip_SharedClientWakesTheReceiver shows the receiver uses the
// exporter's client: with a poll interval of a minute, a record still
// arrives at once, woken by the append.
func TestRoundTrip_SharedClientWakesTheReceiver(t *testing.T) {
	dir := t.TempDir()
	exp, _ := startLogsExporter(t, exporterConfig(dir))
	rcfg := receiverConfig(dir)
	rcfg.PollInterval = time.Minute
	sink := new(consumertest.LogsSink)
	startLogsReceiver(t, receiverSettings(), rcfg, sink)
	time.Sleep(100 * time.Millisecond) // workers are idle, waiting
	for seq := range 3 {
		require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(seq, 1)))
		eventually(t, 5*time.Second, func() bool { return sink.LogRecordCount() == seq+1 }, "record %d delivered without polling", seq)
	}
}

// itemsOf encodes each item of reqs as a request of its own, under a copy
// of its resource and scope: the receiver merges records into requests
// (and equal resources into one), but never changes an item, its resource
// or its scope.
func itemsOf[T any](t *testing.T, c *otlpstream.Codec[T], reqs []T) []string {
	var out []string
	var walk func(T)
	walk = func(d T) {
		a, b, ok := c.Halve(d)
		if !ok {
			if c.Count(d) == 1 {
				enc, err := c.Marshal(d)
				require.NoError(t, err)
				out = append(out, string(enc))
			}
			return
		}
		walk(a)
		walk(b)
	}
	for _, d := range reqs {
		walk(d)
	}
	return out
}

// spansOf describes every span with its resource and scope.
func spansOf(tds []ptrace.Traces) []string {
	var out []string
	for _, td := range tds {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					out = append(out, fmt.Sprintf("%v|%s|%s|%s|%s|%v", rs.Resource().Attributes().AsRaw(), ss.Scope().Name(),
						sp.Name(), sp.TraceID(), sp.SpanID(), sp.Attributes().AsRaw()))
				}
			}
		}
	}
	return out
}

// assertOneShardPerTrace reads the traces shards with a group of its own
// and checks that no trace ID appears in two shards.
func assertOneShardPerTrace(t *testing.T, dir string) {
	h, err := sharedlog.Default().OpenReader(dir, zap.NewNop(), "shard-check")
	require.NoError(t, err)
	defer func() { require.NoError(t, h.Release()) }()
	c := log.NewConsumer(h.Client(), log.ConsumerOptions{Group: "shard-check", Stream: "traces:v1:shard:*"})
	defer c.Close()
	msgs, err := c.Read(context.Background(), nil, 100000)
	require.NoError(t, err)
	shardOf := map[pcommon.TraceID]uint32{}
	shards := map[uint32]bool{}
	for _, m := range msgs {
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(m.Data)
		require.NoError(t, err)
		shards[m.ID.ShardID] = true
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					if s, ok := shardOf[sp.TraceID()]; ok {
						require.Equal(t, s, m.ID.ShardID, "trace %s is in two shards", sp.TraceID())
					}
					shardOf[sp.TraceID()] = m.ID.ShardID
				}
			}
		}
	}
	assert.Len(t, shardOf, roundTripRequests*7, "20 spans per request, 3 per trace: 7 traces each")
	assert.Len(t, shards, 4, "traces spread over every shard")
}
