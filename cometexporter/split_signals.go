// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter // import "github.com/comet-otel/comet/cometexporter"

import (
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var (
	tracesMarshaler  = &ptrace.ProtoMarshaler{}
	metricsMarshaler = &pmetric.ProtoMarshaler{}
	logsMarshaler    = &plog.ProtoMarshaler{}
)

var tracesCodec = &codec[ptrace.Traces]{
	item:    "span",
	marshal: tracesMarshaler.MarshalTraces,
	size:    tracesMarshaler.TracesSize,
	halve:   halveTraces,
}

var metricsCodec = &codec[pmetric.Metrics]{
	item:    "metric data point",
	marshal: metricsMarshaler.MarshalMetrics,
	size:    metricsMarshaler.MetricsSize,
	halve:   halveMetrics,
}

var logsCodec = &codec[plog.Logs]{
	item:    "log record",
	marshal: logsMarshaler.MarshalLogs,
	size:    logsMarshaler.LogsSize,
	halve:   halveLogs,
}

func cloneTraces(td ptrace.Traces) ptrace.Traces {
	c := ptrace.NewTraces()
	td.CopyTo(c)
	return c
}

func cloneMetrics(md pmetric.Metrics) pmetric.Metrics {
	c := pmetric.NewMetrics()
	md.CopyTo(c)
	return c
}

func cloneLogs(ld plog.Logs) plog.Logs {
	c := plog.NewLogs()
	ld.CopyTo(c)
	return c
}

func halveTraces(td ptrace.Traces) (ptrace.Traces, ptrace.Traces, bool) {
	if td.ResourceSpans().Len() > 1 {
		a, b := halveSlice[ptrace.Traces, ptrace.ResourceSpans](td, cloneTraces, ptrace.Traces.ResourceSpans)
		return a, b, true
	}
	if td.ResourceSpans().Len() == 0 {
		return td, td, false
	}
	scopes := func(t ptrace.Traces) ptrace.ScopeSpansSlice { return t.ResourceSpans().At(0).ScopeSpans() }
	if scopes(td).Len() > 1 {
		a, b := halveSlice[ptrace.Traces, ptrace.ScopeSpans](td, cloneTraces, scopes)
		return a, b, true
	}
	if scopes(td).Len() == 0 {
		return td, td, false
	}
	spans := func(t ptrace.Traces) ptrace.SpanSlice { return scopes(t).At(0).Spans() }
	if spans(td).Len() > 1 {
		a, b := halveSlice[ptrace.Traces, ptrace.Span](td, cloneTraces, spans)
		return a, b, true
	}
	return td, td, false
}

func halveLogs(ld plog.Logs) (plog.Logs, plog.Logs, bool) {
	if ld.ResourceLogs().Len() > 1 {
		a, b := halveSlice[plog.Logs, plog.ResourceLogs](ld, cloneLogs, plog.Logs.ResourceLogs)
		return a, b, true
	}
	if ld.ResourceLogs().Len() == 0 {
		return ld, ld, false
	}
	scopes := func(l plog.Logs) plog.ScopeLogsSlice { return l.ResourceLogs().At(0).ScopeLogs() }
	if scopes(ld).Len() > 1 {
		a, b := halveSlice[plog.Logs, plog.ScopeLogs](ld, cloneLogs, scopes)
		return a, b, true
	}
	if scopes(ld).Len() == 0 {
		return ld, ld, false
	}
	records := func(l plog.Logs) plog.LogRecordSlice { return scopes(l).At(0).LogRecords() }
	if records(ld).Len() > 1 {
		a, b := halveSlice[plog.Logs, plog.LogRecord](ld, cloneLogs, records)
		return a, b, true
	}
	return ld, ld, false
}

func halveMetrics(md pmetric.Metrics) (pmetric.Metrics, pmetric.Metrics, bool) {
	if md.ResourceMetrics().Len() > 1 {
		a, b := halveSlice[pmetric.Metrics, pmetric.ResourceMetrics](md, cloneMetrics, pmetric.Metrics.ResourceMetrics)
		return a, b, true
	}
	if md.ResourceMetrics().Len() == 0 {
		return md, md, false
	}
	scopes := func(m pmetric.Metrics) pmetric.ScopeMetricsSlice { return m.ResourceMetrics().At(0).ScopeMetrics() }
	if scopes(md).Len() > 1 {
		a, b := halveSlice[pmetric.Metrics, pmetric.ScopeMetrics](md, cloneMetrics, scopes)
		return a, b, true
	}
	if scopes(md).Len() == 0 {
		return md, md, false
	}
	metrics := func(m pmetric.Metrics) pmetric.MetricSlice { return scopes(m).At(0).Metrics() }
	if metrics(md).Len() > 1 {
		a, b := halveSlice[pmetric.Metrics, pmetric.Metric](md, cloneMetrics, metrics)
		return a, b, true
	}
	if metrics(md).Len() == 0 {
		return md, md, false
	}
	return halveDataPoints(md, func(m pmetric.Metrics) pmetric.Metric { return metrics(m).At(0) })
}

// halveDataPoints splits the data points of the single metric of md.
func halveDataPoints(md pmetric.Metrics, metric func(pmetric.Metrics) pmetric.Metric) (pmetric.Metrics, pmetric.Metrics, bool) {
	m := metric(md)
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return halvePoints[pmetric.NumberDataPoint](md, m.Gauge().DataPoints(), func(x pmetric.Metrics) pmetric.NumberDataPointSlice { return metric(x).Gauge().DataPoints() })
	case pmetric.MetricTypeSum:
		return halvePoints[pmetric.NumberDataPoint](md, m.Sum().DataPoints(), func(x pmetric.Metrics) pmetric.NumberDataPointSlice { return metric(x).Sum().DataPoints() })
	case pmetric.MetricTypeHistogram:
		return halvePoints[pmetric.HistogramDataPoint](md, m.Histogram().DataPoints(), func(x pmetric.Metrics) pmetric.HistogramDataPointSlice { return metric(x).Histogram().DataPoints() })
	case pmetric.MetricTypeExponentialHistogram:
		return halvePoints[pmetric.ExponentialHistogramDataPoint](md, m.ExponentialHistogram().DataPoints(), func(x pmetric.Metrics) pmetric.ExponentialHistogramDataPointSlice {
			return metric(x).ExponentialHistogram().DataPoints()
		})
	case pmetric.MetricTypeSummary:
		return halvePoints[pmetric.SummaryDataPoint](md, m.Summary().DataPoints(), func(x pmetric.Metrics) pmetric.SummaryDataPointSlice { return metric(x).Summary().DataPoints() })
	}
	return md, md, false
}

func halvePoints[E any, S removeIfSlice[E]](md pmetric.Metrics, points S, at func(pmetric.Metrics) S) (pmetric.Metrics, pmetric.Metrics, bool) {
	if points.Len() < 2 {
		return md, md, false
	}
	a, b := halveSlice[pmetric.Metrics, E](md, cloneMetrics, at)
	return a, b, true
}
