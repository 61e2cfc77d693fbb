// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package loadgen // import "github.com/comet-otel/comet/testbed/internal/loadgen"

import (
	"encoding/binary"
	"encoding/hex"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// SeqAttribute is the attribute that carries an item's sequence number (an int) on every
// span and log record the generator sends.
const SeqAttribute = "testbed.seq"

// spansPerTrace groups consecutive sequence numbers into one trace, so that partitioning by
// trace ID has whole traces to keep together.
const spansPerTrace = 8

// Signal names an OTLP signal the generator can send.
type Signal string

const (
	// Traces sends spans through the OTLP trace service.
	Traces Signal = "traces"
	// Logs sends log records through the OTLP logs service.
	Logs Signal = "logs"
)

// payload builds requests whose items carry the sequence numbers [first, first+n).
type payload struct {
	fillerBytes int
	runID       uint64
	traceHi     [8]byte // high half of every trace ID: distinguishes runs in a backend's view
}

func newPayload(fillerBytes int, runID uint64) payload {
	p := payload{fillerBytes: fillerBytes, runID: runID}
	binary.BigEndian.PutUint64(p.traceHi[:], runID)
	return p
}

// filler is a per-item pseudo-random hex string (like a request ID), so that compressing
// the stored data gains what it would on real telemetry and not what a constant string would.
func (p payload) filler(seq uint64) string {
	buf := make([]byte, p.fillerBytes)
	state := seq ^ p.runID
	for i := 0; i < len(buf); i += 16 {
		state += 0x9e3779b97f4a7c15 // splitmix64
		z := state
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		var word [8]byte
		binary.LittleEndian.PutUint64(word[:], z)
		var hexed [16]byte
		hex.Encode(hexed[:], word[:])
		copy(buf[i:], hexed[:])
	}
	return string(buf)
}

func (p payload) traceID(seq uint64) pcommon.TraceID {
	var id [16]byte
	copy(id[:8], p.traceHi[:])
	binary.BigEndian.PutUint64(id[8:], seq/spansPerTrace+1)
	return id
}

func (p payload) traces(first uint64, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "testbed-loadgen")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("github.com/comet-otel/comet/testbed")
	spans := ss.Spans()
	spans.EnsureCapacity(n)
	now := time.Now()
	start := pcommon.NewTimestampFromTime(now.Add(-time.Millisecond))
	end := pcommon.NewTimestampFromTime(now)
	for i := range n {
		seq := first + uint64(i)
		sp := spans.AppendEmpty()
		sp.SetTraceID(p.traceID(seq))
		var sid [8]byte
		binary.BigEndian.PutUint64(sid[:], seq+1)
		sp.SetSpanID(sid)
		sp.SetName("GET /api/items/{id}")
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetStartTimestamp(start)
		sp.SetEndTimestamp(end)
		attrs := sp.Attributes()
		attrs.EnsureCapacity(4)
		attrs.PutInt(SeqAttribute, int64(seq))
		attrs.PutStr("http.request.method", "GET")
		attrs.PutInt("http.response.status_code", 200)
		attrs.PutStr("testbed.request_id", p.filler(seq))
	}
	return td
}

func (p payload) logs(first uint64, n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "testbed-loadgen")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("github.com/comet-otel/comet/testbed")
	records := sl.LogRecords()
	records.EnsureCapacity(n)
	now := pcommon.NewTimestampFromTime(time.Now())
	for i := range n {
		seq := first + uint64(i)
		lr := records.AppendEmpty()
		lr.SetTimestamp(now)
		lr.SetObservedTimestamp(now)
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.Body().SetStr("request served " + p.filler(seq))
		lr.SetTraceID(p.traceID(seq))
		attrs := lr.Attributes()
		attrs.EnsureCapacity(2)
		attrs.PutInt(SeqAttribute, int64(seq))
		attrs.PutStr("http.route", "/api/items/{id}")
	}
	return ld
}

// SeqOf returns the sequence number an item carries in attrs, and whether it has one.
func SeqOf(attrs pcommon.Map) (uint64, bool) {
	v, ok := attrs.Get(SeqAttribute)
	if !ok || v.Type() != pcommon.ValueTypeInt || v.Int() < 0 {
		return 0, false
	}
	return uint64(v.Int()), true
}
