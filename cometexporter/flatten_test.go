// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The flatten functions describe every span, data point or log record with
// its resource and scope, so tests can check that splitting and
// partitioning kept every item, in its context, exactly once.

func flattenTraces(td ptrace.Traces) []string {
	var out []string
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				out = append(out, fmt.Sprintf("%v|%s|%s/%s|%s|%s|%s|%d|%v", rs.Resource().Attributes().AsRaw(), rs.SchemaUrl(),
					ss.Scope().Name(), ss.SchemaUrl(), sp.Name(), sp.TraceID(), sp.SpanID(), sp.StartTimestamp(), sp.Attributes().AsRaw()))
			}
		}
	}
	return out
}

func flattenLogs(ld plog.Logs) []string {
	var out []string
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				out = append(out, fmt.Sprintf("%v|%s|%s|%d", rl.Resource().Attributes().AsRaw(), sl.Scope().Name(), lr.Body().AsString(), lr.Timestamp()))
			}
		}
	}
	return out
}

func flattenMetrics(md pmetric.Metrics) []string {
	var out []string
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				for _, dp := range m.Gauge().DataPoints().All() {
					out = append(out, fmt.Sprintf("%v|%s|%s|%d|%v", rm.Resource().Attributes().AsRaw(), sm.Scope().Name(), m.Name(), dp.IntValue(), dp.Attributes().AsRaw()))
				}
			}
		}
	}
	return out
}
