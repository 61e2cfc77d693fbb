// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package otlpstream // import "github.com/comet-otel/comet/internal/otlpstream"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"
)

var (
	tracesMarshaler   ptrace.ProtoMarshaler
	tracesUnmarshaler ptrace.ProtoUnmarshaler
)

// Traces is the stream contract of traces: items are spans.
var Traces = &Codec[ptrace.Traces]{
	Signal:        pipeline.SignalTraces,
	Item:          "span",
	Items:         "spans",
	New:           ptrace.NewTraces,
	Marshal:       tracesMarshaler.MarshalTraces,
	Size:          tracesMarshaler.TracesSize,
	Unmarshal:     tracesUnmarshaler.UnmarshalTraces,
	MarshalJSON:   (&ptrace.JSONMarshaler{}).MarshalTraces,
	UnmarshalJSON: (&ptrace.JSONUnmarshaler{}).UnmarshalTraces,
	Count:         ptrace.Traces.SpanCount,
	Halve:         halveTraces,
	MoveAppend: func(dst, src ptrace.Traces) error {
		coalesce(dst.ResourceSpans(), src.ResourceSpans(),
			func(a, b ptrace.ResourceSpans) bool {
				return sameResource(a.Resource(), b.Resource(), a.SchemaUrl(), b.SchemaUrl())
			},
			func(into, from ptrace.ResourceSpans) {
				coalesce(into.ScopeSpans(), from.ScopeSpans(),
					func(a, b ptrace.ScopeSpans) bool {
						return sameScope(a.Scope(), b.Scope(), a.SchemaUrl(), b.SchemaUrl())
					},
					func(into, from ptrace.ScopeSpans) { from.Spans().MoveAndAppendTo(into.Spans()) })
			})
		return nil
	},
	Resources: func(td ptrace.Traces) int { return td.ResourceSpans().Len() },
	Resource:  func(td ptrace.Traces, i int) pcommon.Resource { return td.ResourceSpans().At(i).Resource() },
	NewPart:   func(ptrace.Traces) ptrace.Traces { return ptrace.NewTraces() },
	CopyResource: func(src ptrace.Traces, i int, dst ptrace.Traces) {
		src.ResourceSpans().At(i).CopyTo(dst.ResourceSpans().AppendEmpty())
	},
}

func cloneTraces(td ptrace.Traces) ptrace.Traces {
	c := ptrace.NewTraces()
	td.CopyTo(c)
	return c
}

func halveTraces(td ptrace.Traces) (ptrace.Traces, ptrace.Traces, bool) {
	scopes := func(t ptrace.Traces) ptrace.ScopeSpansSlice { return t.ResourceSpans().At(0).ScopeSpans() }
	spans := func(t ptrace.Traces) ptrace.SpanSlice { return scopes(t).At(0).Spans() }
	return halveLevels(td,
		levelOf[ptrace.Traces, ptrace.ResourceSpans](cloneTraces, ptrace.Traces.ResourceSpans),
		levelOf[ptrace.Traces, ptrace.ScopeSpans](cloneTraces, scopes),
		levelOf[ptrace.Traces, ptrace.Span](cloneTraces, spans),
	)
}
