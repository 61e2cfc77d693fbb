// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/comet-otel/comet/internal/otlpstream"
)

const smallRecord = 4 << 10

func TestEncode_FittingRequestIsOneRecordOfItsOTLPBytes(t *testing.T) {
	td := genTraces(2, 2, 5, 1, 1)
	records, err := encode(otlpstream.Traces, td, 4<<20, nil)
	require.NoError(t, err)
	require.Len(t, records, 1)
	want, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	assert.Equal(t, want, records[0], "records carry exactly the otlp_proto bytes")
}

func TestEncode_SplitsTracesAtEveryLevel(t *testing.T) {
	for name, td := range map[string]ptrace.Traces{
		"resources": genTraces(40, 1, 5, 1, 1),
		"scopes":    genTraces(1, 40, 5, 1, 2),
		"spans":     genTraces(1, 1, 200, 1, 3),
		"mixed":     genTraces(3, 4, 30, 2, 4),
	} {
		t.Run(name, func(t *testing.T) {
			td.MarkReadOnly()
			require.Greater(t, otlpstream.Traces.Size(td), 4*smallRecord)
			records, err := encode(otlpstream.Traces, td, smallRecord, nil)
			require.NoError(t, err)
			require.Greater(t, len(records), 4)
			var got []string
			for _, r := range records {
				assert.LessOrEqual(t, len(r), smallRecord)
				back, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(r)
				require.NoError(t, err)
				got = append(got, flattenTraces(back)...)
			}
			assert.Equal(t, flattenTraces(td), got, "all spans, in order, each under its resource and scope")
		})
	}
}

func TestEncode_SplitsLogs(t *testing.T) {
	ld := genLogs(2, 3, 100, 1)
	records, err := encode(otlpstream.Logs, ld, smallRecord, nil)
	require.NoError(t, err)
	require.Greater(t, len(records), 4)
	var got []string
	for _, r := range records {
		assert.LessOrEqual(t, len(r), smallRecord)
		back, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(r)
		require.NoError(t, err)
		got = append(got, flattenLogs(back)...)
	}
	assert.Equal(t, flattenLogs(ld), got)
}

func TestEncode_SplitsMetricsDownToDataPoints(t *testing.T) {
	md := genMetrics(1, 1, 1, 500, 1) // one gauge with 500 points
	records, err := encode(otlpstream.Metrics, md, smallRecord, nil)
	require.NoError(t, err)
	require.Greater(t, len(records), 4)
	var got []string
	for _, r := range records {
		assert.LessOrEqual(t, len(r), smallRecord)
		back, err := (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(r)
		require.NoError(t, err)
		got = append(got, flattenMetrics(back)...)
	}
	assert.Equal(t, flattenMetrics(md), got)
}

func TestEncode_SplitsEveryMetricType(t *testing.T) {
	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	fill := func(n int, add func()) {
		for range n {
			add()
		}
	}
	sum := ms.AppendEmpty().SetEmptySum()
	hist := ms.AppendEmpty().SetEmptyHistogram()
	exp := ms.AppendEmpty().SetEmptyExponentialHistogram()
	summary := ms.AppendEmpty().SetEmptySummary()
	fill(300, func() { sum.DataPoints().AppendEmpty().SetIntValue(1) })
	fill(300, func() { hist.DataPoints().AppendEmpty().BucketCounts().FromRaw([]uint64{1, 2, 3}) })
	fill(300, func() { exp.DataPoints().AppendEmpty().SetScale(3) })
	fill(300, func() { summary.DataPoints().AppendEmpty().SetSum(2) })
	records, err := encode(otlpstream.Metrics, md, 1<<10, nil)
	require.NoError(t, err)
	total := 0
	for _, r := range records {
		assert.LessOrEqual(t, len(r), 1<<10)
		back, err := (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(r)
		require.NoError(t, err)
		total += back.DataPointCount()
	}
	assert.Equal(t, 1200, total)
}

func TestEncode_SingleOversizedItemIsRefused(t *testing.T) {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.Attributes().PutStr("blob", strings.Repeat("x", 2*smallRecord))
	_, err := encode(otlpstream.Traces, td, smallRecord, nil)
	var tooLarge *recordTooLargeError
	require.ErrorAs(t, err, &tooLarge)
	assert.Contains(t, err.Error(), "a single span encodes to")
	assert.Contains(t, err.Error(), "max_record_size (4096)")
}
