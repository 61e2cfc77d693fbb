// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter // import "github.com/comet-otel/comet/cometexporter"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/comet-otel/comet/internal/otlpstream"
)

// The partition functions never modify the request: parts that are not
// the whole request are copies, because the exporter declares that it
// does not mutate data.

// splitter returns the function that splits a request of c's signal into
// shard parts, as partition_by says. trace_id applies to traces only
// (the factory refuses it for other signals).
func splitter[T any](p *shardPicker, by PartitionBy, c *otlpstream.Codec[T]) func(T) []part[T] {
	switch by {
	case PartitionResource:
		return func(d T) []part[T] { return partitionByResource(p, c, d) }
	case PartitionTraceID:
		if byTrace, ok := any(p.partitionTracesByTraceID).(func(T) []part[T]); ok {
			return byTrace
		}
	}
	return func(d T) []part[T] { return []part[T]{{shard: p.roundRobin(), data: d}} }
}

// partitionByResource puts each resource in the shard of its attributes'
// hash.
func partitionByResource[T any](p *shardPicker, c *otlpstream.Codec[T], d T) []part[T] {
	shards, single := p.resourceShards(c.Resources(d), func(i int) pcommon.Resource { return c.Resource(d, i) })
	if single {
		return []part[T]{{shard: shards[0], data: d}}
	}
	set := newPartSet(func() T { return c.NewPart(d) })
	for i, shard := range shards {
		c.CopyResource(d, i, set.get(shard))
	}
	return set.parts
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
	targets := make([]target, p.idBound())
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
