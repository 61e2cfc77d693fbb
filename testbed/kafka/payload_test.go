// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package kafka

import (
	"encoding/binary"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The shape of every generated request: several resources, each with several scopes, so
// that partitioning by resource or trace ID has something to split, and every field of the
// OTLP model that a lossy path could drop (typed attributes, events, links, exemplars,
// bucket counts, structured bodies, stacks of inlined frames) carries a value.
const (
	resourcesPerRequest = 2
	scopesPerResource   = 2
	itemsPerScope       = 5 // spans, log records, samples of a profile; metrics have itemsPerScope data points of each type
	tracesPerRequest    = 3 // spans of one trace spread over every resource and scope of a request
	distinctResources   = 5 // service names cycle, so requests share resources

	// seqAttribute numbers every item (span, data point, log record, sample) uniquely within
	// a test.
	seqAttribute = "testbed.seq"
	// seqsPerRequest spaces the numbers of consecutive requests; no request holds more items.
	seqsPerRequest = 1000
)

// epoch is the base of every timestamp, fixed so that runs compare.
var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// seqs hands out the item numbers of one request.
type seqs struct{ next int64 }

func newSeqs(req int) *seqs { return &seqs{next: int64(req) * seqsPerRequest} }

func (s *seqs) take() int64 {
	s.next++
	return s.next - 1
}

func timestamp(seq int64, offset time.Duration) pcommon.Timestamp {
	return pcommon.NewTimestampFromTime(epoch.Add(time.Duration(seq)*time.Millisecond + offset))
}

func traceID(req, trace int) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], 0x7e57_0000_0000_0000|uint64(req))
	binary.BigEndian.PutUint64(id[8:], uint64(trace)+1)
	return id
}

func spanID(seq int64) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], uint64(seq)+1)
	return id
}

// fillResource describes the r-th resource of request req. Service names cycle over
// distinctResources, so one resource appears in many requests.
func fillResource(res pcommon.Resource, req, r int) {
	n := (req + r) % distinctResources
	attrs := res.Attributes()
	attrs.PutStr("service.name", fmt.Sprintf("svc-%d", n))
	attrs.PutStr("host.name", fmt.Sprintf("edge-%02d", n))
	attrs.PutInt("service.instance.number", int64(n))
	res.SetDroppedAttributesCount(uint32(n % 2))
}

func fillScope(scope pcommon.InstrumentationScope, s int) {
	scope.SetName(fmt.Sprintf("github.com/comet-otel/testbed/scope-%d", s))
	scope.SetVersion(fmt.Sprintf("v1.%d.0", s))
	scope.Attributes().PutStr("scope.kind", "test")
	scope.SetDroppedAttributesCount(uint32(s))
}

// fillAttributes gives an item its number and one attribute of every value type.
func fillAttributes(attrs pcommon.Map, seq int64) {
	attrs.PutInt(seqAttribute, seq)
	attrs.PutStr("str", fmt.Sprintf("value-%d \u00e9\u4e16", seq))
	attrs.PutDouble("double", float64(seq)/7)
	attrs.PutBool("bool", seq%2 == 0)
	attrs.PutEmptyBytes("bytes").FromRaw([]byte{0, byte(seq), 0xff})
	slice := attrs.PutEmptySlice("slice")
	slice.AppendEmpty().SetStr("a")
	slice.AppendEmpty().SetInt(seq)
	nested := attrs.PutEmptyMap("map")
	nested.PutStr("k", "v")
	nested.PutEmptyMap("inner").PutDouble("x", 1.5)
}

// requestShape visits every resource and scope slot of request req.
func requestShape(req int, visit func(r, s int)) {
	for r := range resourcesPerRequest {
		for s := range scopesPerResource {
			visit(r, s)
		}
	}
}

func generateTraces(req int) ptrace.Traces {
	td := ptrace.NewTraces()
	ids := newSeqs(req)
	var rs ptrace.ResourceSpans
	requestShape(req, func(r, s int) {
		if s == 0 {
			rs = td.ResourceSpans().AppendEmpty()
			rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
			fillResource(rs.Resource(), req, r)
		}
		ss := rs.ScopeSpans().AppendEmpty()
		ss.SetSchemaUrl("https://opentelemetry.io/schemas/1.25.0")
		fillScope(ss.Scope(), s)
		for i := range itemsPerScope {
			fillSpan(ss.Spans().AppendEmpty(), req, ids.take(), i%tracesPerRequest)
		}
	})
	return td
}

func fillSpan(span ptrace.Span, req int, seq int64, trace int) {
	span.SetTraceID(traceID(req, trace))
	span.SetSpanID(spanID(seq))
	span.SetParentSpanID(spanID(seq + 100000))
	span.TraceState().FromRaw("comet=t" + fmt.Sprint(seq%3))
	span.SetFlags(1)
	span.SetName(fmt.Sprintf("operation-%d", seq%4))
	span.SetKind(ptrace.SpanKind(1 + seq%5))
	span.SetStartTimestamp(timestamp(seq, 0))
	span.SetEndTimestamp(timestamp(seq, 250*time.Microsecond))
	fillAttributes(span.Attributes(), seq)
	span.SetDroppedAttributesCount(1)
	ev := span.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(timestamp(seq, 100*time.Microsecond))
	ev.Attributes().PutStr("exception.message", fmt.Sprintf("failure %d", seq))
	link := span.Links().AppendEmpty()
	link.SetTraceID(traceID(req+1, trace))
	link.SetSpanID(spanID(seq + 1))
	link.TraceState().FromRaw("linked=1")
	link.Attributes().PutBool("linked", true)
	span.Status().SetCode(ptrace.StatusCode(seq % 3))
	if span.Status().Code() == ptrace.StatusCodeError {
		span.Status().SetMessage("deadline exceeded")
	}
}

func generateMetrics(req int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	ids := newSeqs(req)
	var rm pmetric.ResourceMetrics
	requestShape(req, func(r, s int) {
		if s == 0 {
			rm = md.ResourceMetrics().AppendEmpty()
			rm.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
			fillResource(rm.Resource(), req, r)
		}
		sm := rm.ScopeMetrics().AppendEmpty()
		fillScope(sm.Scope(), s)
		fillGauge(sm.Metrics().AppendEmpty(), ids)
		fillSum(sm.Metrics().AppendEmpty(), ids)
		fillHistogram(sm.Metrics().AppendEmpty(), ids)
		fillExponentialHistogram(sm.Metrics().AppendEmpty(), ids)
		fillSummary(sm.Metrics().AppendEmpty(), ids)
	})
	return md
}

// fillPoint sets what every data point type shares.
func fillPoint(attrs pcommon.Map, seq int64, setStart, setTime func(pcommon.Timestamp)) {
	fillAttributes(attrs, seq)
	setStart(timestamp(seq, -time.Minute))
	setTime(timestamp(seq, 0))
}

func fillExemplar(ex pmetric.Exemplar, seq int64) {
	ex.SetTimestamp(timestamp(seq, -time.Second))
	ex.SetDoubleValue(float64(seq) * 1.25)
	ex.SetTraceID(traceID(int(seq/seqsPerRequest), 0))
	ex.SetSpanID(spanID(seq))
	ex.FilteredAttributes().PutStr("user", "u1")
}

func fillGauge(m pmetric.Metric, ids *seqs) {
	m.SetName("comet.test.gauge")
	m.SetDescription("a gauge")
	m.SetUnit("1")
	m.Metadata().PutStr("source", "testbed")
	g := m.SetEmptyGauge()
	for range itemsPerScope {
		seq := ids.take()
		dp := g.DataPoints().AppendEmpty()
		fillPoint(dp.Attributes(), seq, dp.SetStartTimestamp, dp.SetTimestamp)
		dp.SetIntValue(seq * 3)
		fillExemplar(dp.Exemplars().AppendEmpty(), seq)
	}
}

func fillSum(m pmetric.Metric, ids *seqs) {
	m.SetName("comet.test.sum")
	m.SetUnit("By")
	sum := m.SetEmptySum()
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	sum.SetIsMonotonic(true)
	for range itemsPerScope {
		seq := ids.take()
		dp := sum.DataPoints().AppendEmpty()
		fillPoint(dp.Attributes(), seq, dp.SetStartTimestamp, dp.SetTimestamp)
		dp.SetDoubleValue(float64(seq) + 0.5)
		dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(seq%7 == 0))
	}
}

func fillHistogram(m pmetric.Metric, ids *seqs) {
	m.SetName("comet.test.histogram")
	m.SetUnit("ms")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	for range itemsPerScope {
		seq := ids.take()
		dp := h.DataPoints().AppendEmpty()
		fillPoint(dp.Attributes(), seq, dp.SetStartTimestamp, dp.SetTimestamp)
		dp.SetCount(uint64(6 + seq%3))
		dp.SetSum(float64(seq) * 2)
		dp.SetMin(0.5)
		dp.SetMax(float64(seq) + 10)
		dp.ExplicitBounds().FromRaw([]float64{1, 10, 100})
		dp.BucketCounts().FromRaw([]uint64{1, 2, 3, uint64(seq % 3)})
		fillExemplar(dp.Exemplars().AppendEmpty(), seq)
	}
}

func fillExponentialHistogram(m pmetric.Metric, ids *seqs) {
	m.SetName("comet.test.exponential_histogram")
	m.SetUnit("s")
	h := m.SetEmptyExponentialHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for range itemsPerScope {
		seq := ids.take()
		dp := h.DataPoints().AppendEmpty()
		fillPoint(dp.Attributes(), seq, dp.SetStartTimestamp, dp.SetTimestamp)
		dp.SetScale(int32(seq % 4))
		dp.SetCount(12)
		dp.SetSum(float64(seq) / 3)
		dp.SetZeroCount(2)
		dp.SetZeroThreshold(1e-9)
		dp.Positive().SetOffset(int32(seq % 5))
		dp.Positive().BucketCounts().FromRaw([]uint64{3, 4, 1})
		dp.Negative().SetOffset(-2)
		dp.Negative().BucketCounts().FromRaw([]uint64{2})
	}
}

func fillSummary(m pmetric.Metric, ids *seqs) {
	m.SetName("comet.test.summary")
	s := m.SetEmptySummary()
	for range itemsPerScope {
		seq := ids.take()
		dp := s.DataPoints().AppendEmpty()
		fillPoint(dp.Attributes(), seq, dp.SetStartTimestamp, dp.SetTimestamp)
		dp.SetCount(uint64(seq))
		dp.SetSum(float64(seq) * 4)
		q := dp.QuantileValues().AppendEmpty()
		q.SetQuantile(0.99)
		q.SetValue(float64(seq))
	}
}

func generateLogs(req int) plog.Logs {
	ld := plog.NewLogs()
	ids := newSeqs(req)
	var rl plog.ResourceLogs
	requestShape(req, func(r, s int) {
		if s == 0 {
			rl = ld.ResourceLogs().AppendEmpty()
			rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
			fillResource(rl.Resource(), req, r)
		}
		sl := rl.ScopeLogs().AppendEmpty()
		fillScope(sl.Scope(), s)
		for i := range itemsPerScope {
			fillLogRecord(sl.LogRecords().AppendEmpty(), req, ids.take(), i)
		}
	})
	return ld
}

func fillLogRecord(lr plog.LogRecord, req int, seq int64, i int) {
	lr.SetTimestamp(timestamp(seq, 0))
	lr.SetObservedTimestamp(timestamp(seq, time.Millisecond))
	lr.SetSeverityNumber(plog.SeverityNumber(1 + seq%24))
	lr.SetSeverityText("WARN")
	lr.SetEventName("comet.test.event")
	fillAttributes(lr.Attributes(), seq)
	lr.SetDroppedAttributesCount(2)
	lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	// Some records belong to a trace and some do not, as in real logs.
	if i%2 == 0 {
		lr.SetTraceID(traceID(req, i%tracesPerRequest))
		lr.SetSpanID(spanID(seq))
	}
	// Bodies of every shape a log pipeline sees: text, structured, binary.
	switch seq % 3 {
	case 0:
		lr.Body().SetStr(fmt.Sprintf("request %d failed: connection reset\nretrying", seq))
	case 1:
		body := lr.Body().SetEmptyMap()
		body.PutStr("msg", "structured")
		body.PutInt("n", seq)
		body.PutEmptySlice("tags").AppendEmpty().SetStr("edge")
	default:
		lr.Body().SetEmptyBytes().FromRaw([]byte{0x28, 0xb5, 0x2f, 0xfd, byte(seq)}) // starts with the zstd magic
	}
}

// generateProfiles makes a request of one profile per resource and scope, its samples
// referring through the request's dictionary to attributes of every value type, a stack of
// shared frames (the innermost with an inlined function) and, for some, a span.
func generateProfiles(req int) pprofile.Profiles {
	pd := pprofile.NewProfiles()
	w := newDictWriter(pd.Dictionary())
	ids := newSeqs(req)
	var rp pprofile.ResourceProfiles
	requestShape(req, func(r, s int) {
		if s == 0 {
			rp = pd.ResourceProfiles().AppendEmpty()
			rp.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
			fillResource(rp.Resource(), req, r)
		}
		sp := rp.ScopeProfiles().AppendEmpty()
		sp.SetSchemaUrl("https://opentelemetry.io/schemas/1.25.0")
		fillScope(sp.Scope(), s)
		fillProfile(sp.Profiles().AppendEmpty(), w, req, r, s, ids)
	})
	if w.err != nil {
		panic(w.err) // a dictionary table past 2^31 entries: not at these sizes
	}
	return pd
}

func fillProfile(p pprofile.Profile, w *dictWriter, req, r, s int, ids *seqs) {
	first := ids.next
	p.SampleType().SetTypeStrindex(w.str("cpu"))
	p.SampleType().SetUnitStrindex(w.str("nanoseconds"))
	p.PeriodType().SetTypeStrindex(w.str("cpu"))
	p.PeriodType().SetUnitStrindex(w.str("nanoseconds"))
	p.SetPeriod(10_000_000)
	p.SetTime(timestamp(first, 0))
	p.SetDurationNano(uint64(itemsPerScope * time.Millisecond))
	var id pprofile.ProfileID
	binary.BigEndian.PutUint64(id[:8], 0x9f0f_0000_0000_0000|uint64(req))
	binary.BigEndian.PutUint64(id[8:], uint64(r*scopesPerResource+s)+1)
	p.SetProfileID(id)
	p.SetDroppedAttributesCount(uint32(s))
	p.SetOriginalPayloadFormat("pprofext")
	p.OriginalPayload().FromRaw([]byte{0x1f, 0x8b, byte(req), byte(r), byte(s)}) // starts with the gzip magic
	p.AttributeIndices().FromRaw([]int32{
		w.attribute("profile.frame.type", pcommon.NewValueStr("go"), ""),
		w.attribute("thread.count", pcommon.NewValueInt(int64(4+s)), "{thread}"),
	})
	mapping := w.mapping(0x40_0000, 0x80_0000, 0x1000, "/usr/bin/edge-agent",
		[]int32{w.attribute("process.executable.build_id.gnu", pcommon.NewValueStr(fmt.Sprintf("b1d%04x", r)), "")})
	for i := range itemsPerScope {
		fillSample(p.Samples().AppendEmpty(), w, req, ids.take(), i, mapping)
	}
}

func fillSample(sample pprofile.Sample, w *dictWriter, req int, seq int64, i int, mapping int32) {
	attrs := pcommon.NewMap()
	fillAttributes(attrs, seq)
	indices := w.attributes(attrs)
	indices = append(indices, w.attribute("sample.weight", pcommon.NewValueInt(1+seq%4), "By"))
	sample.AttributeIndices().FromRaw(indices)
	sample.Values().FromRaw([]int64{seq*10 + 1, seq*10 + 2})
	sample.TimestampsUnixNano().FromRaw([]uint64{uint64(timestamp(seq, 0)), uint64(timestamp(seq, time.Millisecond))})
	// Some samples were taken in a span, as with a tracing profiler.
	if i%2 == 0 {
		sample.SetLinkIndex(w.link(traceID(req, i%tracesPerRequest), spanID(seq)))
	}
	// One to three frames, shared with the other samples.
	var locations []int32
	for f := range 1 + int(seq%3) {
		locations = append(locations, frameLocation(w, mapping, f))
	}
	sample.SetStackIndex(w.stack(locations))
}

// frameLocation is the location of the f-th frame from the top of a stack; the top one
// holds an inlined function.
func frameLocation(w *dictWriter, mapping int32, f int) int32 {
	fn := w.function(fmt.Sprintf("main.frame%d", f), fmt.Sprintf("main.frame%d.abi0", f), fmt.Sprintf("/src/edge/frame%d.go", f), int64(10*f+1))
	lines := []profileLine{{function: fn, line: int64(10*f + 5), column: int64(f + 1)}}
	if f == 0 {
		inlined := w.function("runtime.nanotime", "", "/usr/local/go/src/runtime/time.go", 3)
		lines = append([]profileLine{{function: inlined, line: 7, column: 2}}, lines...)
	}
	return w.location(mapping, 0x40_1000+uint64(f)*0x40, lines,
		[]int32{w.attribute("frame.kind", pcommon.NewValueStr("go"), "")})
}
