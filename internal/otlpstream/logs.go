// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package otlpstream // import "github.com/comet-otel/comet/internal/otlpstream"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pipeline"
)

var (
	logsMarshaler   plog.ProtoMarshaler
	logsUnmarshaler plog.ProtoUnmarshaler
)

// Logs is the stream contract of logs: items are log records.
var Logs = &Codec[plog.Logs]{
	Signal:        pipeline.SignalLogs,
	Item:          "log record",
	Items:         "log records",
	New:           plog.NewLogs,
	Marshal:       logsMarshaler.MarshalLogs,
	Size:          logsMarshaler.LogsSize,
	Unmarshal:     logsUnmarshaler.UnmarshalLogs,
	MarshalJSON:   (&plog.JSONMarshaler{}).MarshalLogs,
	UnmarshalJSON: (&plog.JSONUnmarshaler{}).UnmarshalLogs,
	Count:         plog.Logs.LogRecordCount,
	Halve:         halveLogs,
	MoveAppend: func(dst, src plog.Logs) error {
		coalesce(dst.ResourceLogs(), src.ResourceLogs(),
			func(a, b plog.ResourceLogs) bool {
				return sameResource(a.Resource(), b.Resource(), a.SchemaUrl(), b.SchemaUrl())
			},
			func(into, from plog.ResourceLogs) {
				coalesce(into.ScopeLogs(), from.ScopeLogs(),
					func(a, b plog.ScopeLogs) bool { return sameScope(a.Scope(), b.Scope(), a.SchemaUrl(), b.SchemaUrl()) },
					func(into, from plog.ScopeLogs) { from.LogRecords().MoveAndAppendTo(into.LogRecords()) })
			})
		return nil
	},
	Resources: func(ld plog.Logs) int { return ld.ResourceLogs().Len() },
	Resource:  func(ld plog.Logs, i int) pcommon.Resource { return ld.ResourceLogs().At(i).Resource() },
	NewPart:   func(plog.Logs) plog.Logs { return plog.NewLogs() },
	CopyResource: func(src plog.Logs, i int, dst plog.Logs) {
		src.ResourceLogs().At(i).CopyTo(dst.ResourceLogs().AppendEmpty())
	},
}

func cloneLogs(ld plog.Logs) plog.Logs {
	c := plog.NewLogs()
	ld.CopyTo(c)
	return c
}

func halveLogs(ld plog.Logs) (plog.Logs, plog.Logs, bool) {
	scopes := func(l plog.Logs) plog.ScopeLogsSlice { return l.ResourceLogs().At(0).ScopeLogs() }
	records := func(l plog.Logs) plog.LogRecordSlice { return scopes(l).At(0).LogRecords() }
	return halveLevels(ld,
		levelOf[plog.Logs, plog.ResourceLogs](cloneLogs, plog.Logs.ResourceLogs),
		levelOf[plog.Logs, plog.ScopeLogs](cloneLogs, scopes),
		levelOf[plog.Logs, plog.LogRecord](cloneLogs, records),
	)
}
