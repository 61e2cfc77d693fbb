// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/comet-otel/comet/internal/otlpstream"
)

func TestPartitionTraces_TraceIDKeepsEachTraceInOneShard(t *testing.T) {
	p := newShardPicker(8)
	td := genTraces(3, 2, 40, 4, 1) // 240 spans, 60 traces
	td.MarkReadOnly()               // partitioning must copy, never modify
	parts := splitter(p, PartitionTraceID, otlpstream.Traces)(td)
	require.Greater(t, len(parts), 1, "60 traces over 8 shards use several shards")

	shardOfTrace := map[pcommon.TraceID]uint32{}
	var all []string
	for _, part := range parts {
		all = append(all, flattenTraces(part.data)...)
		for _, rs := range part.data.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					if s, ok := shardOfTrace[sp.TraceID()]; ok {
						assert.Equal(t, s, part.shard, "trace %s is split across shards", sp.TraceID())
					}
					shardOfTrace[sp.TraceID()] = part.shard
					assert.Equal(t, p.forTraceID(sp.TraceID()), part.shard)
				}
			}
		}
	}
	assert.Len(t, shardOfTrace, 60)
	assert.ElementsMatch(t, flattenTraces(td), all, "every span kept once, under its resource and scope")
}

func TestPartitionTraces_TraceIDSingleShardIsNotCopied(t *testing.T) {
	p := newShardPicker(8)
	td := genTraces(2, 2, 5, 20, 3) // one trace
	parts := splitter(p, PartitionTraceID, otlpstream.Traces)(td)
	require.Len(t, parts, 1)
	assert.Equal(t, td, parts[0].data)
}

func TestPartitionTraces_ResourceIsStableAndOrderIndependent(t *testing.T) {
	p := newShardPicker(16)
	a := pcommon.NewResource()
	a.Attributes().PutStr("service.name", "checkout")
	a.Attributes().PutInt("pid", 42)
	b := pcommon.NewResource()
	b.Attributes().PutInt("pid", 42)
	b.Attributes().PutStr("service.name", "checkout")
	assert.Equal(t, p.forResource(a), p.forResource(b), "attribute order must not matter")
	assert.Equal(t, p.forResource(a), newShardPicker(16).forResource(a), "the same resource maps to the same shard in every process")

	c := pcommon.NewResource()
	c.Attributes().PutStr("service.name", "checkout")
	c.Attributes().PutStr("pid", "42")
	d := pcommon.NewResource()
	d.Attributes().PutStr("service.name", "checkou")
	d.Attributes().PutStr("tpid", "42")
	// Not a guarantee of different shards, but of different hashes: check
	// with a large shard count that the type and separators are hashed.
	big := newShardPicker(1 << 20)
	assert.NotEqual(t, big.forResource(a), big.forResource(c), "an int and a string of the same text differ")
	assert.NotEqual(t, big.forResource(c), big.forResource(d), "keys and values are delimited")
}

func TestPartition_ResourceSplitsByResource(t *testing.T) {
	p := newShardPicker(64)
	td := genTraces(12, 2, 3, 1, 5)
	td.MarkReadOnly()
	parts := splitter(p, PartitionResource, otlpstream.Traces)(td)
	require.Greater(t, len(parts), 1)
	var spans []string
	for _, part := range parts {
		spans = append(spans, flattenTraces(part.data)...)
		for _, rs := range part.data.ResourceSpans().All() {
			assert.Equal(t, p.forResource(rs.Resource()), part.shard)
		}
	}
	assert.ElementsMatch(t, flattenTraces(td), spans)

	ld := genLogs(12, 1, 3, 5)
	ld.MarkReadOnly()
	var logs []string
	for _, part := range splitter(p, PartitionResource, otlpstream.Logs)(ld) {
		logs = append(logs, flattenLogs(part.data)...)
		for _, rl := range part.data.ResourceLogs().All() {
			assert.Equal(t, p.forResource(rl.Resource()), part.shard)
		}
	}
	assert.ElementsMatch(t, flattenLogs(ld), logs)

	md := genMetrics(12, 1, 2, 2, 5)
	md.MarkReadOnly()
	var points []string
	for _, part := range splitter(p, PartitionResource, otlpstream.Metrics)(md) {
		points = append(points, flattenMetrics(part.data)...)
		for _, rm := range part.data.ResourceMetrics().All() {
			assert.Equal(t, p.forResource(rm.Resource()), part.shard)
		}
	}
	assert.ElementsMatch(t, flattenMetrics(md), points)
}

func TestPartition_RoundRobinCyclesWholeRequests(t *testing.T) {
	p := newShardPicker(3)
	td := genTraces(2, 1, 1, 1, 1)
	var got []uint32
	for range 7 {
		parts := splitter(p, PartitionRoundRobin, otlpstream.Traces)(td)
		require.Len(t, parts, 1)
		assert.Equal(t, td, parts[0].data)
		got = append(got, parts[0].shard)
	}
	assert.Equal(t, []uint32{0, 1, 2, 0, 1, 2, 0}, got)
	assert.Len(t, splitter(p, PartitionRoundRobin, otlpstream.Logs)(plog.NewLogs()), 1)
	assert.Len(t, splitter(p, PartitionRoundRobin, otlpstream.Metrics)(pmetric.NewMetrics()), 1)
}

func TestPartition_EmptyRequests(t *testing.T) {
	p := newShardPicker(4)
	for _, by := range []PartitionBy{PartitionRoundRobin, PartitionResource, PartitionTraceID} {
		parts := splitter(p, by, otlpstream.Traces)(ptrace.NewTraces())
		require.Len(t, parts, 1, by)
		assert.Less(t, parts[0].shard, uint32(4))
	}
}
