// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package kafka

import (
	"encoding/json"
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// item is one span, data point, log record or profile sample, normalized for comparison:
// its number and the OTLP JSON of a request that holds only it, under copies of its
// resource and scope (and, for a data point, of its metric; for a sample, of its profile,
// with a dictionary of only what the sample refers to). Two items are equal when their JSON is: every
// field, attribute order included, survived the trip. Requests may be split and merged on
// the way (partitioning, batching); items may not change.
type item struct {
	seq       int64
	canonical string
}

func seqOf(attrs pcommon.Map) (int64, error) {
	v, ok := attrs.Get(seqAttribute)
	if !ok || v.Type() != pcommon.ValueTypeInt {
		return 0, fmt.Errorf("item without an integer %q attribute", seqAttribute)
	}
	return v.Int(), nil
}

func traceItems(td ptrace.Traces) ([]item, error) {
	var out []item
	var m ptrace.JSONMarshaler
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				one := ptrace.NewTraces()
				ors := one.ResourceSpans().AppendEmpty()
				rs.Resource().CopyTo(ors.Resource())
				ors.SetSchemaUrl(rs.SchemaUrl())
				oss := ors.ScopeSpans().AppendEmpty()
				ss.Scope().CopyTo(oss.Scope())
				oss.SetSchemaUrl(ss.SchemaUrl())
				span.CopyTo(oss.Spans().AppendEmpty())
				it, err := newItem(span.Attributes(), func() ([]byte, error) { return m.MarshalTraces(one) })
				if err != nil {
					return nil, err
				}
				out = append(out, it)
			}
		}
	}
	return out, nil
}

func logItems(ld plog.Logs) ([]item, error) {
	var out []item
	var m plog.JSONMarshaler
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				one := plog.NewLogs()
				orl := one.ResourceLogs().AppendEmpty()
				rl.Resource().CopyTo(orl.Resource())
				orl.SetSchemaUrl(rl.SchemaUrl())
				osl := orl.ScopeLogs().AppendEmpty()
				sl.Scope().CopyTo(osl.Scope())
				osl.SetSchemaUrl(sl.SchemaUrl())
				lr.CopyTo(osl.LogRecords().AppendEmpty())
				it, err := newItem(lr.Attributes(), func() ([]byte, error) { return m.MarshalLogs(one) })
				if err != nil {
					return nil, err
				}
				out = append(out, it)
			}
		}
	}
	return out, nil
}

func metricItems(md pmetric.Metrics) ([]item, error) {
	var out []item
	var m pmetric.JSONMarshaler
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, metric := range sm.Metrics().All() {
				for i := range dataPointCount(metric) {
					one := pmetric.NewMetrics()
					orm := one.ResourceMetrics().AppendEmpty()
					rm.Resource().CopyTo(orm.Resource())
					orm.SetSchemaUrl(rm.SchemaUrl())
					osm := orm.ScopeMetrics().AppendEmpty()
					sm.Scope().CopyTo(osm.Scope())
					osm.SetSchemaUrl(sm.SchemaUrl())
					om := osm.Metrics().AppendEmpty()
					metric.CopyTo(om)
					attrs, err := keepDataPoint(om, i)
					if err != nil {
						return nil, err
					}
					it, err := newItem(attrs, func() ([]byte, error) { return m.MarshalMetrics(one) })
					if err != nil {
						return nil, err
					}
					out = append(out, it)
				}
			}
		}
	}
	return out, nil
}

// profileItems flattens profiles into samples. A sample's request is built with a
// dictionary of its own, so that its indices do not depend on what else its request held:
// merging requests renumbers a dictionary, never what a sample resolves to.
func profileItems(pd pprofile.Profiles) ([]item, error) {
	var out []item
	var m pprofile.JSONMarshaler
	dict := pd.Dictionary()
	for _, rp := range pd.ResourceProfiles().All() {
		for _, sp := range rp.ScopeProfiles().All() {
			for _, p := range sp.Profiles().All() {
				for i, sample := range p.Samples().All() {
					attrs, err := pprofile.FromAttributeIndices(dict.AttributeTable(), sample, dict)
					if err != nil {
						return nil, fmt.Errorf("sample attributes: %w", err)
					}
					one := pprofile.NewProfiles()
					c := dictCopier{src: dict, w: newDictWriter(one.Dictionary())}
					orp := one.ResourceProfiles().AppendEmpty()
					rp.Resource().CopyTo(orp.Resource())
					orp.SetSchemaUrl(rp.SchemaUrl())
					osp := orp.ScopeProfiles().AppendEmpty()
					sp.Scope().CopyTo(osp.Scope())
					osp.SetSchemaUrl(sp.SchemaUrl())
					op := osp.Profiles().AppendEmpty()
					p.CopyTo(op)
					j := 0
					op.Samples().RemoveIf(func(pprofile.Sample) bool {
						j++
						return j-1 != i
					})
					c.profileInPlace(op)
					if c.w.err != nil {
						return nil, fmt.Errorf("sample %d of a profile: %w", i, c.w.err)
					}
					it, err := newItem(attrs, func() ([]byte, error) { return m.MarshalProfiles(one) })
					if err != nil {
						return nil, err
					}
					out = append(out, it)
				}
			}
		}
	}
	return out, nil
}

func newItem(attrs pcommon.Map, marshal func() ([]byte, error)) (item, error) {
	seq, err := seqOf(attrs)
	if err != nil {
		return item{}, err
	}
	b, err := marshal()
	if err != nil {
		return item{}, fmt.Errorf("item %d: %w", seq, err)
	}
	return item{seq: seq, canonical: string(b)}, nil
}

func dataPointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

// keepDataPoint removes every data point of m but the i-th and returns its attributes.
func keepDataPoint(m pmetric.Metric, i int) (pcommon.Map, error) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return keepPoint(m.Gauge().DataPoints(), i), nil
	case pmetric.MetricTypeSum:
		return keepPoint(m.Sum().DataPoints(), i), nil
	case pmetric.MetricTypeHistogram:
		return keepPoint(m.Histogram().DataPoints(), i), nil
	case pmetric.MetricTypeExponentialHistogram:
		return keepPoint(m.ExponentialHistogram().DataPoints(), i), nil
	case pmetric.MetricTypeSummary:
		return keepPoint(m.Summary().DataPoints(), i), nil
	}
	return pcommon.Map{}, fmt.Errorf("metric %q has no data points of a known type (%s)", m.Name(), m.Type())
}

type dataPoint interface{ Attributes() pcommon.Map }

type dataPointSlice[P dataPoint] interface {
	At(int) P
	RemoveIf(func(P) bool)
}

func keepPoint[P dataPoint, S dataPointSlice[P]](points S, keep int) pcommon.Map {
	i := 0
	points.RemoveIf(func(P) bool {
		i++
		return i-1 != keep
	})
	return points.At(0).Attributes()
}

// traceIDsOf lists the distinct trace IDs of td: the unit partition_by trace_id and
// partition_traces_by_id keep together.
func traceIDsOf(td ptrace.Traces) []string {
	seen := map[string]bool{}
	var out []string
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				if id := span.TraceID().String(); !seen[id] {
					seen[id] = true
					out = append(out, id)
				}
			}
		}
	}
	return out
}

// resourcesOf lists the distinct resources (as JSON of their attributes, keys sorted) of a
// request: the unit partition_by resource and partition_*_by_resource_attributes keep
// together.
func resourcesOf(n int, resource func(int) pcommon.Resource) []string {
	seen := map[string]bool{}
	var out []string
	for i := range n {
		b, err := json.Marshal(resource(i).Attributes().AsRaw())
		if err != nil {
			b = []byte(err.Error())
		}
		if key := string(b); !seen[key] {
			seen[key] = true
			out = append(out, key)
		}
	}
	return out
}
