// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package otlpstream // import "github.com/comet-otel/comet/internal/otlpstream"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pipeline"
)

var (
	metricsMarshaler   pmetric.ProtoMarshaler
	metricsUnmarshaler pmetric.ProtoUnmarshaler
)

// Metrics is the stream contract of metrics: items are data points.
var Metrics = &Codec[pmetric.Metrics]{
	Signal:        pipeline.SignalMetrics,
	Item:          "metric data point",
	Items:         "data points",
	New:           pmetric.NewMetrics,
	Marshal:       metricsMarshaler.MarshalMetrics,
	Size:          metricsMarshaler.MetricsSize,
	Unmarshal:     metricsUnmarshaler.UnmarshalMetrics,
	MarshalJSON:   (&pmetric.JSONMarshaler{}).MarshalMetrics,
	UnmarshalJSON: (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics,
	Count:         pmetric.Metrics.DataPointCount,
	Halve:         halveMetrics,
	MoveAppend: func(dst, src pmetric.Metrics) error {
		coalesce(dst.ResourceMetrics(), src.ResourceMetrics(),
			func(a, b pmetric.ResourceMetrics) bool {
				return sameResource(a.Resource(), b.Resource(), a.SchemaUrl(), b.SchemaUrl())
			},
			func(into, from pmetric.ResourceMetrics) {
				coalesce(into.ScopeMetrics(), from.ScopeMetrics(),
					func(a, b pmetric.ScopeMetrics) bool {
						return sameScope(a.Scope(), b.Scope(), a.SchemaUrl(), b.SchemaUrl())
					},
					func(into, from pmetric.ScopeMetrics) { from.Metrics().MoveAndAppendTo(into.Metrics()) })
			})
		return nil
	},
	Resources: func(md pmetric.Metrics) int { return md.ResourceMetrics().Len() },
	Resource:  func(md pmetric.Metrics, i int) pcommon.Resource { return md.ResourceMetrics().At(i).Resource() },
	NewPart:   func(pmetric.Metrics) pmetric.Metrics { return pmetric.NewMetrics() },
	CopyResource: func(src pmetric.Metrics, i int, dst pmetric.Metrics) {
		src.ResourceMetrics().At(i).CopyTo(dst.ResourceMetrics().AppendEmpty())
	},
}

func cloneMetrics(md pmetric.Metrics) pmetric.Metrics {
	c := pmetric.NewMetrics()
	md.CopyTo(c)
	return c
}

func halveMetrics(md pmetric.Metrics) (pmetric.Metrics, pmetric.Metrics, bool) {
	scopes := func(m pmetric.Metrics) pmetric.ScopeMetricsSlice { return m.ResourceMetrics().At(0).ScopeMetrics() }
	metrics := func(m pmetric.Metrics) pmetric.MetricSlice { return scopes(m).At(0).Metrics() }
	return halveLevels(md,
		levelOf[pmetric.Metrics, pmetric.ResourceMetrics](cloneMetrics, pmetric.Metrics.ResourceMetrics),
		levelOf[pmetric.Metrics, pmetric.ScopeMetrics](cloneMetrics, scopes),
		levelOf[pmetric.Metrics, pmetric.Metric](cloneMetrics, metrics),
		dataPointLevel(func(m pmetric.Metrics) pmetric.Metric { return metrics(m).At(0) }),
	)
}

// dataPointLevel is the level of the data points of the metric that at
// reaches, whatever its type.
func dataPointLevel(at func(pmetric.Metrics) pmetric.Metric) level[pmetric.Metrics] {
	byType := func(md pmetric.Metrics) level[pmetric.Metrics] {
		switch at(md).Type() {
		case pmetric.MetricTypeGauge:
			return levelOf[pmetric.Metrics, pmetric.NumberDataPoint](cloneMetrics, func(x pmetric.Metrics) pmetric.NumberDataPointSlice { return at(x).Gauge().DataPoints() })
		case pmetric.MetricTypeSum:
			return levelOf[pmetric.Metrics, pmetric.NumberDataPoint](cloneMetrics, func(x pmetric.Metrics) pmetric.NumberDataPointSlice { return at(x).Sum().DataPoints() })
		case pmetric.MetricTypeHistogram:
			return levelOf[pmetric.Metrics, pmetric.HistogramDataPoint](cloneMetrics, func(x pmetric.Metrics) pmetric.HistogramDataPointSlice { return at(x).Histogram().DataPoints() })
		case pmetric.MetricTypeExponentialHistogram:
			return levelOf[pmetric.Metrics, pmetric.ExponentialHistogramDataPoint](cloneMetrics, func(x pmetric.Metrics) pmetric.ExponentialHistogramDataPointSlice {
				return at(x).ExponentialHistogram().DataPoints()
			})
		case pmetric.MetricTypeSummary:
			return levelOf[pmetric.Metrics, pmetric.SummaryDataPoint](cloneMetrics, func(x pmetric.Metrics) pmetric.SummaryDataPointSlice { return at(x).Summary().DataPoints() })
		}
		return level[pmetric.Metrics]{len: func(pmetric.Metrics) int { return 0 }}
	}
	return level[pmetric.Metrics]{
		len:   func(md pmetric.Metrics) int { return byType(md).len(md) },
		split: func(md pmetric.Metrics) (pmetric.Metrics, pmetric.Metrics) { return byType(md).split(md) },
	}
}
