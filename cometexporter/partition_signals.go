// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter // import "github.com/comet-otel/comet/cometexporter"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The partition functions never modify the request: parts that are not
// the whole request are copies, because the exporter declares that it
// does not mutate data.

func (p *shardPicker) partitionTraces(by PartitionBy, td ptrace.Traces) []part[ptrace.Traces] {
	switch by {
	case PartitionTraceID:
		return p.partitionTracesByTraceID(td)
	case PartitionResource:
		rss := td.ResourceSpans()
		shards, single := p.resourceShards(rss.Len(), func(i int) pcommon.Resource { return rss.At(i).Resource() })
		if single {
			return []part[ptrace.Traces]{{shard: shards[0], data: td}}
		}
		set := newPartSet(ptrace.NewTraces)
		for i := range rss.Len() {
			rss.At(i).CopyTo(set.get(shards[i]).ResourceSpans().AppendEmpty())
		}
		return set.parts
	}
	return []part[ptrace.Traces]{{shard: p.roundRobin(), data: td}}
}

func (p *shardPicker) partitionMetrics(by PartitionBy, md pmetric.Metrics) []part[pmetric.Metrics] {
	if by == PartitionResource {
		rms := md.ResourceMetrics()
		shards, single := p.resourceShards(rms.Len(), func(i int) pcommon.Resource { return rms.At(i).Resource() })
		if single {
			return []part[pmetric.Metrics]{{shard: shards[0], data: md}}
		}
		set := newPartSet(pmetric.NewMetrics)
		for i := range rms.Len() {
			rms.At(i).CopyTo(set.get(shards[i]).ResourceMetrics().AppendEmpty())
		}
		return set.parts
	}
	return []part[pmetric.Metrics]{{shard: p.roundRobin(), data: md}}
}

func (p *shardPicker) partitionLogs(by PartitionBy, ld plog.Logs) []part[plog.Logs] {
	if by == PartitionResource {
		rls := ld.ResourceLogs()
		shards, single := p.resourceShards(rls.Len(), func(i int) pcommon.Resource { return rls.At(i).Resource() })
		if single {
			return []part[plog.Logs]{{shard: shards[0], data: ld}}
		}
		set := newPartSet(plog.NewLogs)
		for i := range rls.Len() {
			rls.At(i).CopyTo(set.get(shards[i]).ResourceLogs().AppendEmpty())
		}
		return set.parts
	}
	return []part[plog.Logs]{{shard: p.roundRobin(), data: ld}}
}

// partitionTracesByTraceID puts every span in the shard of its trace ID,
// keeping each span under a copy of its resource and scope.
func (p *shardPicker) partitionTracesByTraceID(td ptrace.Traces) []part[ptrace.Traces] {
	if shard, ok := p.singleTraceShard(td); ok {
		return []part[ptrace.Traces]{{shard: shard, data: td}}
	}
	set := newPartSet(ptrace.NewTraces)
	// Per shard, the resource and scope copies the current source resource
	// and scope go into; gen marks which source they belong to.
	type target struct {
		rsGen, ssGen int
		rs           ptrace.ResourceSpans
		ss           ptrace.ScopeSpans
	}
	targets := make([]target, p.shards)
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		for j := range rs.ScopeSpans().Len() {
			ss := rs.ScopeSpans().At(j)
			for k := range ss.Spans().Len() {
				span := ss.Spans().At(k)
				shard := p.forTraceID(span.TraceID())
				t := &targets[shard]
				if t.rsGen != i+1 {
					t.rs = set.get(shard).ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(t.rs.Resource())
					t.rs.SetSchemaUrl(rs.SchemaUrl())
					t.rsGen, t.ssGen = i+1, 0
				}
				if t.ssGen != j+1 {
					t.ss = t.rs.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(t.ss.Scope())
					t.ss.SetSchemaUrl(ss.SchemaUrl())
					t.ssGen = j + 1
				}
				span.CopyTo(t.ss.Spans().AppendEmpty())
			}
		}
	}
	if len(set.parts) == 0 { // no spans at all
		return []part[ptrace.Traces]{{shard: p.roundRobin(), data: td}}
	}
	return set.parts
}

// singleTraceShard reports whether all spans of td hash to one shard.
func (p *shardPicker) singleTraceShard(td ptrace.Traces) (uint32, bool) {
	first, seen := uint32(0), false
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				s := p.forTraceID(spans.At(k).TraceID())
				if !seen {
					first, seen = s, true
				} else if s != first {
					return 0, false
				}
			}
		}
	}
	if !seen {
		return p.roundRobin(), true
	}
	return first, true
}
