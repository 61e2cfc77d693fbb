// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package kafka

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"go.yaml.in/yaml/v3"

	"github.com/comet-otel/comet/internal/log"
	"github.com/comet-otel/comet/internal/sharedlog"
)

const (
	// testTimeout bounds one subtest: sending, delivery and every wait. A clean run takes
	// about a second; the bound only turns a hang into a failure that says what is missing.
	testTimeout = 30 * time.Second
	// shutdownTimeout bounds each component's Shutdown.
	shutdownTimeout = 10 * time.Second
	// pollInterval is how often a wait looks at its condition.
	pollInterval = 10 * time.Millisecond
	// maxRecords bounds what one test reads back from a topic or a comet log.
	maxRecords = 100000
)

// rig is one subtest's in-process Kafka cluster and the components it started. Components
// are started as the collector starts them (exporters, then receivers) and stopped in the
// reverse order, when asked or at the end of the test; the cluster is closed last.
type rig struct {
	t       *testing.T
	ctx     context.Context // bounds the subtest's sends and waits
	brokers []string
	logger  *zap.Logger
	logs    *observer.ObservedLogs
	running []namedComponent
	stopped bool
}

type namedComponent struct {
	name string
	component.Component
}

// newRig starts a single-broker kfake cluster on 127.0.0.1 with topics of the given
// partition count.
func newRig(t *testing.T, partitions int32, topics ...string) *rig {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatalf("start kfake cluster: %v", err)
	}
	core, logs := observer.New(zapcore.WarnLevel)
	r := &rig{t: t, ctx: ctx, brokers: cluster.ListenAddrs(), logger: zap.New(core), logs: logs}
	t.Cleanup(func() {
		r.stopComponents()
		cluster.Close()
		if t.Failed() {
			r.dumpLogs()
		}
	})
	return r
}

// startExporter creates a signal's exporter from its YAML configuration and starts it.
func startExporter[T any](r *rig, s signal[T], f exporter.Factory, config string) consumeFunc[T] {
	r.t.Helper()
	name := f.Type().String() + " exporter"
	set := exportertest.NewNopSettings(f.Type())
	set.Logger = r.logger.With(zap.String("component", name))
	e, err := s.newExporter(r.ctx, f, set, loadConfig(r.t, f, config))
	if err != nil {
		r.t.Fatalf("create %s: %v", name, err)
	}
	r.start(name, e)
	return e.consume
}

// startReceiver creates a signal's receiver from its YAML configuration, feeding next,
// and starts it.
func startReceiver[T any](r *rig, s signal[T], f receiver.Factory, config string, next consumeFunc[T]) {
	r.t.Helper()
	name := f.Type().String() + " receiver"
	set := receivertest.NewNopSettings(f.Type())
	set.Logger = r.logger.With(zap.String("component", name))
	c, err := s.newReceiver(r.ctx, f, set, loadConfig(r.t, f, config), next)
	if err != nil {
		r.t.Fatalf("create %s: %v", name, err)
	}
	r.start(name, c)
}

// start starts c and registers it for shutdown.
func (r *rig) start(name string, c component.Component) {
	r.t.Helper()
	if err := c.Start(r.ctx, componenttest.NewNopHost()); err != nil {
		r.t.Fatalf("start %s: %v", name, err)
	}
	r.running = append(r.running, namedComponent{name: name, Component: c})
}

// stopComponents stops every started component, last started first. Each Shutdown is
// bounded; an error fails the test. The cluster keeps running, so what the components
// left in a topic can still be read. It is idempotent.
func (r *rig) stopComponents() {
	if r.stopped {
		return
	}
	r.stopped = true
	for _, c := range slices.Backward(r.running) {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		if err := c.Shutdown(ctx); err != nil {
			r.t.Errorf("shutdown %s: %v", c.name, err)
		}
		cancel()
	}
}

func (r *rig) dumpLogs() {
	for _, e := range r.logs.All() {
		r.t.Logf("component log: %s %s %v", e.Level, e.Message, e.ContextMap())
	}
}

// waitFor polls done until it reports true, failing the test with done's last progress
// report when the subtest's deadline passes first.
func (r *rig) waitFor(what string, done func() (bool, string)) {
	r.t.Helper()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		ok, progress := done()
		if ok {
			return
		}
		select {
		case <-r.ctx.Done():
			r.t.Fatalf("%s: not done within %s: %s", what, testTimeout, progress)
		case <-tick.C:
		}
	}
}

// loadConfig builds a component's configuration the way the collector does: the factory's
// defaults, overlaid with the YAML a user would write, then validated. The YAML keys are
// the ones the README's mapping table documents.
func loadConfig(t *testing.T, f component.Factory, doc string) component.Config {
	t.Helper()
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(doc), &raw); err != nil {
		t.Fatalf("%s config is not YAML: %v\n%s", f.Type(), err, doc)
	}
	cfg := f.CreateDefaultConfig()
	if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
		t.Fatalf("%s config: %v\n%s", f.Type(), err, doc)
	}
	if err := confmap.Validate(cfg); err != nil {
		t.Fatalf("%s config is invalid: %v\n%s", f.Type(), err, doc)
	}
	return cfg
}

// topicRecord is one record of a topic, as a plain consumer (no group) reads it.
type topicRecord struct {
	partition int32
	offset    int64
	key       []byte
	value     []byte
}

// readTopic returns every record of topic, up to the end offsets listed when it starts,
// ordered by partition and offset.
func (r *rig) readTopic(topic string) []topicRecord {
	r.t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(r.brokers...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		r.t.Fatalf("kafka client: %v", err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(r.ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		r.t.Fatalf("list end offsets of %s: %v", topic, err)
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	if want > maxRecords {
		r.t.Fatalf("topic %s holds %d records, more than this test ever writes (%d)", topic, want, maxRecords)
	}
	var out []topicRecord
	for int64(len(out)) < want {
		fetches := cl.PollFetches(r.ctx)
		if err := r.ctx.Err(); err != nil {
			r.t.Fatalf("read topic %s: %d of %d records within %s: %v", topic, len(out), want, testTimeout, err)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			r.t.Fatalf("read topic %s: %v", topic, errs[0].Err)
		}
		fetches.EachRecord(func(rec *kgo.Record) {
			out = append(out, topicRecord{partition: rec.Partition, offset: rec.Offset, key: rec.Key, value: rec.Value})
		})
	}
	slices.SortFunc(out, func(a, b topicRecord) int {
		return cmp.Or(cmp.Compare(a.partition, b.partition), cmp.Compare(a.offset, b.offset))
	})
	return out
}

// cometRecord is one record of a comet log, as the engine returns it to a consumer: the
// payload as appended, decompressed.
type cometRecord struct {
	shard uint32
	entry int64
	data  []byte
}

// readCometLog returns every record of a signal's shards in dir, in shard and entry
// order, read through the engine with a consumer group of its own (the comet receiver
// reads the same way). The comet exporter writes the streams "<signal>:v1:shard:NNNN".
func (r *rig) readCometLog(dir, signal string) []cometRecord {
	r.t.Helper()
	h, err := sharedlog.Default().OpenReader(dir, r.logger, "kafka interchange test")
	if err != nil {
		r.t.Fatalf("open comet log: %v", err)
	}
	c := log.NewConsumer(h.Client(), log.ConsumerOptions{Group: "kafka-interchange-test", Stream: signal + ":v1:shard:*", Start: log.StartEarliest})
	msgs, err := c.Read(r.ctx, nil, maxRecords)
	if err := errors.Join(err, c.Close(), h.Release()); err != nil {
		r.t.Fatalf("read comet log %s: %v", dir, err)
	}
	if len(msgs) == maxRecords {
		r.t.Fatalf("comet log %s holds more records than this test ever writes (%d)", dir, maxRecords)
	}
	out := make([]cometRecord, len(msgs))
	for i, m := range msgs {
		out[i] = cometRecord{shard: m.ID.ShardID, entry: m.ID.EntryNumber, data: m.Data}
	}
	slices.SortFunc(out, func(a, b cometRecord) int {
		return cmp.Or(cmp.Compare(a.shard, b.shard), cmp.Compare(a.entry, b.entry))
	})
	return out
}
