// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// recordVersion is the only stream version cometctl reads and writes:
// each record is one OTLP Export*ServiceRequest in protobuf, as the comet
// exporter writes it.
const recordVersion = "v1"

// otlpSignal converts the records of one signal's namespace between the
// stored protobuf and OTLP JSON, through the pdata marshalers.
type otlpSignal struct {
	name  string // the namespace: traces, metrics, logs, profiles
	items string // what its requests hold: spans, data points, ...
	// protoToJSON decodes a stored record and encodes it as OTLP JSON.
	protoToJSON func([]byte) (json []byte, items int, err error)
	// jsonToProto decodes an OTLP JSON request and encodes it as protobuf.
	jsonToProto func([]byte) (proto []byte, items int, err error)
	// checkProto decodes a protobuf request, to refuse what is not one.
	checkProto func([]byte) (items int, err error)
}

var signals = map[string]*otlpSignal{
	"traces": newSignal("traces", "spans",
		(&ptrace.ProtoUnmarshaler{}).UnmarshalTraces, (&ptrace.ProtoMarshaler{}).MarshalTraces,
		(&ptrace.JSONUnmarshaler{}).UnmarshalTraces, (&ptrace.JSONMarshaler{}).MarshalTraces,
		ptrace.Traces.SpanCount),
	"metrics": newSignal("metrics", "data points",
		(&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics, (&pmetric.ProtoMarshaler{}).MarshalMetrics,
		(&pmetric.JSONUnmarshaler{}).UnmarshalMetrics, (&pmetric.JSONMarshaler{}).MarshalMetrics,
		pmetric.Metrics.DataPointCount),
	"logs": newSignal("logs", "log records",
		(&plog.ProtoUnmarshaler{}).UnmarshalLogs, (&plog.ProtoMarshaler{}).MarshalLogs,
		(&plog.JSONUnmarshaler{}).UnmarshalLogs, (&plog.JSONMarshaler{}).MarshalLogs,
		plog.Logs.LogRecordCount),
	"profiles": newSignal("profiles", "samples",
		(&pprofile.ProtoUnmarshaler{}).UnmarshalProfiles, (&pprofile.ProtoMarshaler{}).MarshalProfiles,
		(&pprofile.JSONUnmarshaler{}).UnmarshalProfiles, (&pprofile.JSONMarshaler{}).MarshalProfiles,
		pprofile.Profiles.SampleCount),
}

func newSignal[T any](name, items string,
	fromProto func([]byte) (T, error), toProto func(T) ([]byte, error),
	fromJSON func([]byte) (T, error), toJSON func(T) ([]byte, error),
	count func(T) int,
) *otlpSignal {
	return &otlpSignal{
		name:  name,
		items: items,
		protoToJSON: func(b []byte) ([]byte, int, error) {
			d, err := fromProto(b)
			if err != nil {
				return nil, 0, fmt.Errorf("not an OTLP %s request in protobuf: %w", name, err)
			}
			j, err := toJSON(d)
			return j, count(d), err
		},
		jsonToProto: func(b []byte) ([]byte, int, error) {
			d, err := fromJSON(b)
			if err != nil {
				return nil, 0, fmt.Errorf("not an OTLP %s request in JSON: %w", name, err)
			}
			p, err := toProto(d)
			return p, count(d), err
		},
		checkProto: func(b []byte) (int, error) {
			d, err := fromProto(b)
			if err != nil {
				return 0, fmt.Errorf("not an OTLP %s request in protobuf: %w", name, err)
			}
			return count(d), nil
		},
	}
}

// emptyError refuses an empty request: the exporter never stores one, and
// a request of another signal reads as an empty one in JSON.
func (s *otlpSignal) emptyError() error {
	return fmt.Errorf("the request is empty (no resource %s): is this a file of another signal? --stream names the signal", s.name)
}

// signalOf returns the signal of a namespace and version, or an error
// saying which ones cometctl converts.
func signalOf(sel selection) (*otlpSignal, error) {
	sig, ok := signals[sel.ns]
	if !ok {
		return nil, fmt.Errorf("namespace %q is not an OTLP signal: cometctl converts %s", sel.ns, strings.Join(signalNames(), ", "))
	}
	if sel.ver != recordVersion {
		return nil, fmt.Errorf("version %q of %s: cometctl reads and writes %s (OTLP protobuf records)", sel.ver, sel.ns, recordVersion)
	}
	return sig, nil
}

func signalNames() []string {
	names := make([]string, 0, len(signals))
	for n := range signals {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
