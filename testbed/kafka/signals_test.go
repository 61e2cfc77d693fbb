// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package kafka

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/xexporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/xreceiver"
)

// signal is everything the tests need to know about one OpenTelemetry signal: how to make
// its requests and flatten them into items, its names on both sides, and how to build the
// components that carry it. The tests themselves are written once, over signal[T]; adding
// a signal is one entry in interchangeSignals.
type signal[T any] struct {
	// name is the pipeline signal: the comet stream namespace, the kafka components'
	// per-signal config key, and the subtest name.
	name string
	// topic is the kafka exporter's and receiver's default topic for the signal.
	topic string
	// cometPartitionBy and kafkaPartitionKey are the same partitioning on both sides: the
	// comet exporter's partition_by, and the kafka exporter key that turns it on ("" when
	// the kafka exporter cannot partition the signal).
	cometPartitionBy  string
	kafkaPartitionKey string
	// partitionUnits lists what the partitioning keeps together in a request: its trace
	// IDs or its resources. nil when the kafka exporter cannot partition the signal.
	partitionUnits func(T) []string

	generate  func(req int) T
	items     func(T) ([]item, error)
	marshal   func(T) ([]byte, error) // the otlp_proto encoding
	unmarshal func([]byte) (T, error)

	newExporter func(context.Context, exporter.Factory, exporter.Settings, component.Config) (consumerComponent[T], error)
	newReceiver func(context.Context, receiver.Factory, receiver.Settings, component.Config, consumeFunc[T]) (component.Component, error)
}

// consumeFunc is a pipeline's next consumer of one signal.
type consumeFunc[T any] func(context.Context, T) error

// consumerComponent is an exporter seen through its signal's consume function.
type consumerComponent[T any] struct {
	component.Component
	consume consumeFunc[T]
}

// interchangeCase is a signal[T] with its type parameter hidden, so one table holds all.
type interchangeCase interface {
	signalName() string
	cometToKafka(t *testing.T)
	kafkaToComet(t *testing.T)
	recordBytes(t *testing.T)
}

func (s signal[T]) signalName() string { return s.name }

// interchangeSignals are the signals both the comet and the kafka components carry.
var interchangeSignals = []interchangeCase{tracesSignal, metricsSignal, logsSignal, profilesSignal}

var tracesSignal = signal[ptrace.Traces]{
	name:              "traces",
	topic:             "otlp_spans",
	cometPartitionBy:  "trace_id",
	kafkaPartitionKey: "partition_traces_by_id",
	partitionUnits:    traceIDsOf,
	generate:          generateTraces,
	items:             traceItems,
	marshal:           (&ptrace.ProtoMarshaler{}).MarshalTraces,
	unmarshal:         (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces,
	newExporter: func(ctx context.Context, f exporter.Factory, set exporter.Settings, cfg component.Config) (consumerComponent[ptrace.Traces], error) {
		e, err := f.CreateTraces(ctx, set, cfg)
		if err != nil {
			return consumerComponent[ptrace.Traces]{}, err
		}
		return consumerComponent[ptrace.Traces]{Component: e, consume: e.ConsumeTraces}, nil
	},
	newReceiver: func(ctx context.Context, f receiver.Factory, set receiver.Settings, cfg component.Config, next consumeFunc[ptrace.Traces]) (component.Component, error) {
		c, err := consumer.NewTraces(consumer.ConsumeTracesFunc(next))
		if err != nil {
			return nil, err
		}
		return f.CreateTraces(ctx, set, cfg, c)
	},
}

var metricsSignal = signal[pmetric.Metrics]{
	name:              "metrics",
	topic:             "otlp_metrics",
	cometPartitionBy:  "resource",
	kafkaPartitionKey: "partition_metrics_by_resource_attributes",
	partitionUnits: func(md pmetric.Metrics) []string {
		rms := md.ResourceMetrics()
		return resourcesOf(rms.Len(), func(i int) pcommon.Resource { return rms.At(i).Resource() })
	},
	generate:  generateMetrics,
	items:     metricItems,
	marshal:   (&pmetric.ProtoMarshaler{}).MarshalMetrics,
	unmarshal: (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics,
	newExporter: func(ctx context.Context, f exporter.Factory, set exporter.Settings, cfg component.Config) (consumerComponent[pmetric.Metrics], error) {
		e, err := f.CreateMetrics(ctx, set, cfg)
		if err != nil {
			return consumerComponent[pmetric.Metrics]{}, err
		}
		return consumerComponent[pmetric.Metrics]{Component: e, consume: e.ConsumeMetrics}, nil
	},
	newReceiver: func(ctx context.Context, f receiver.Factory, set receiver.Settings, cfg component.Config, next consumeFunc[pmetric.Metrics]) (component.Component, error) {
		c, err := consumer.NewMetrics(consumer.ConsumeMetricsFunc(next))
		if err != nil {
			return nil, err
		}
		return f.CreateMetrics(ctx, set, cfg, c)
	},
}

var logsSignal = signal[plog.Logs]{
	name:              "logs",
	topic:             "otlp_logs",
	cometPartitionBy:  "resource",
	kafkaPartitionKey: "partition_logs_by_resource_attributes",
	partitionUnits: func(ld plog.Logs) []string {
		rls := ld.ResourceLogs()
		return resourcesOf(rls.Len(), func(i int) pcommon.Resource { return rls.At(i).Resource() })
	},
	generate:  generateLogs,
	items:     logItems,
	marshal:   (&plog.ProtoMarshaler{}).MarshalLogs,
	unmarshal: (&plog.ProtoUnmarshaler{}).UnmarshalLogs,
	newExporter: func(ctx context.Context, f exporter.Factory, set exporter.Settings, cfg component.Config) (consumerComponent[plog.Logs], error) {
		e, err := f.CreateLogs(ctx, set, cfg)
		if err != nil {
			return consumerComponent[plog.Logs]{}, err
		}
		return consumerComponent[plog.Logs]{Component: e, consume: e.ConsumeLogs}, nil
	},
	newReceiver: func(ctx context.Context, f receiver.Factory, set receiver.Settings, cfg component.Config, next consumeFunc[plog.Logs]) (component.Component, error) {
		c, err := consumer.NewLogs(consumer.ConsumeLogsFunc(next))
		if err != nil {
			return nil, err
		}
		return f.CreateLogs(ctx, set, cfg, c)
	},
}

// profilesSignal carries profiles, whose items are samples. The kafka exporter cannot
// partition profiles, so both sides spread requests round robin.
var profilesSignal = signal[pprofile.Profiles]{
	name:             "profiles",
	topic:            "otlp_profiles",
	cometPartitionBy: "round_robin",
	generate:         generateProfiles,
	items:            profileItems,
	// MarshalProfiles moves strings into the dictionary in place: encode a copy, so the
	// request sent afterwards is the one generated.
	marshal: func(pd pprofile.Profiles) ([]byte, error) {
		c := pprofile.NewProfiles()
		pd.CopyTo(c)
		return (&pprofile.ProtoMarshaler{}).MarshalProfiles(c)
	},
	unmarshal: (&pprofile.ProtoUnmarshaler{}).UnmarshalProfiles,
	newExporter: func(ctx context.Context, f exporter.Factory, set exporter.Settings, cfg component.Config) (consumerComponent[pprofile.Profiles], error) {
		xf, ok := f.(xexporter.Factory)
		if !ok {
			return consumerComponent[pprofile.Profiles]{}, fmt.Errorf("the %s exporter factory does not create profiles exporters", f.Type())
		}
		e, err := xf.CreateProfiles(ctx, set, cfg)
		if err != nil {
			return consumerComponent[pprofile.Profiles]{}, err
		}
		return consumerComponent[pprofile.Profiles]{Component: e, consume: e.ConsumeProfiles}, nil
	},
	newReceiver: func(ctx context.Context, f receiver.Factory, set receiver.Settings, cfg component.Config, next consumeFunc[pprofile.Profiles]) (component.Component, error) {
		xf, ok := f.(xreceiver.Factory)
		if !ok {
			return nil, fmt.Errorf("the %s receiver factory does not create profiles receivers", f.Type())
		}
		c, err := xconsumer.NewProfiles(xconsumer.ConsumeProfilesFunc(next))
		if err != nil {
			return nil, err
		}
		return xf.CreateProfiles(ctx, set, cfg, c)
	},
}
