// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package kafka

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/kafkaexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kafkareceiver"

	"github.com/comet-otel/comet/cometexporter"
	"github.com/comet-otel/comet/cometreceiver"
)

const (
	// interchangeRequests is how many requests each direction moves per signal: 2,000
	// spans, log records or profile samples, 10,000 data points.
	interchangeRequests = 100
	// topicPartitions is the partition count of the interchange topics, so that the
	// kafka exporter's partitioning has partitions to choose from.
	topicPartitions = 4
	// byteRequests is how many requests the byte comparison writes to both sides.
	byteRequests = 5
)

var (
	cometExporterFactory = cometexporter.NewFactory()
	cometReceiverFactory = cometreceiver.NewFactory()
	kafkaExporterFactory = kafkaexporter.NewFactory()
	kafkaReceiverFactory = kafkareceiver.NewFactory()
)

// TestKafkaInterchange moves every signal from a comet log to Kafka and from Kafka to a
// comet log, through contrib's kafka exporter and receiver, and checks that every item
// arrives exactly once and unchanged. Each direction uses the partitioning keys the
// README maps onto each other.
func TestKafkaInterchange(t *testing.T) {
	for _, s := range interchangeSignals {
		t.Run(s.signalName(), func(t *testing.T) {
			t.Run("comet_to_kafka", s.cometToKafka)
			t.Run("kafka_to_comet", s.kafkaToComet)
		})
	}
}

// TestKafkaRecordBytes checks that the record the comet exporter stores for a request is
// byte for byte the record the kafka exporter publishes for it with encoding otlp_proto,
// and that both are pdata's OTLP protobuf encoding of the request.
func TestKafkaRecordBytes(t *testing.T) {
	for _, s := range interchangeSignals {
		t.Run(s.signalName(), s.recordBytes)
	}
}

// cometToKafka runs the path of a user draining a comet log into Kafka:
//
//	requests -> comet exporter -> disk log -> comet receiver -> kafka exporter -> topic
//	         -> kafka receiver -> sink
//
// then checks the sink and, independently, what the topic holds.
func (s signal[T]) cometToKafka(t *testing.T) {
	r := newRig(t, topicPartitions, s.topic)
	dir := t.TempDir()
	sink, next := newSink(s)

	// Exporters first, then receivers, as the collector starts a pipeline.
	toComet := startExporter(r, s, cometExporterFactory, cometExporterYAML(dir, s.cometPartitionBy))
	toKafka := startExporter(r, s, kafkaExporterFactory, kafkaExporterYAML(r.brokers, s.name, s.topic, s.kafkaPartitionKey))
	startReceiver(r, s, kafkaReceiverFactory, kafkaReceiverYAML(r.brokers, s.name, s.topic), next)
	startReceiver(r, s, cometReceiverFactory, cometReceiverYAML(dir), toKafka)

	sent := send(t, r.ctx, s, toComet, interchangeRequests)
	r.waitFor("comet -> kafka -> sink", func() (bool, string) { return sink.has(sent) })
	r.stopComponents()
	assertExactlyOnce(t, "sink", sent, sink.snapshot())
	s.checkTopic(t, r, sent)
}

// kafkaToComet runs the path of a Kafka consumer feeding a comet log:
//
//	requests -> kafka exporter -> topic -> kafka receiver -> comet exporter -> disk log
//	         -> comet receiver -> sink
func (s signal[T]) kafkaToComet(t *testing.T) {
	r := newRig(t, topicPartitions, s.topic)
	dir := t.TempDir()
	sink, next := newSink(s)

	toKafka := startExporter(r, s, kafkaExporterFactory, kafkaExporterYAML(r.brokers, s.name, s.topic, s.kafkaPartitionKey))
	toComet := startExporter(r, s, cometExporterFactory, cometExporterYAML(dir, s.cometPartitionBy))
	startReceiver(r, s, kafkaReceiverFactory, kafkaReceiverYAML(r.brokers, s.name, s.topic), toComet)
	startReceiver(r, s, cometReceiverFactory, cometReceiverYAML(dir), next)

	sent := send(t, r.ctx, s, toKafka, interchangeRequests)
	r.waitFor("kafka -> comet -> sink", func() (bool, string) { return sink.has(sent) })
	r.stopComponents()
	assertExactlyOnce(t, "sink", sent, sink.snapshot())
}

// checkTopic reads the topic the kafka exporter wrote: it must hold every item exactly
// once, and the partitioning key must have kept each trace (or resource) in one record
// and in one partition, as partition_by does in one shard of a comet log.
func (s signal[T]) checkTopic(t *testing.T, r *rig, sent *itemSet) {
	records := r.readTopic(s.topic)
	atRest := newItemSet()
	partitionOf := map[string]int32{}
	partitions := map[int32]bool{}
	var split []string
	for _, rec := range records {
		data, err := s.unmarshal(rec.value)
		if err != nil {
			t.Errorf("topic %s partition %d offset %d: not %s in otlp_proto: %v", s.topic, rec.partition, rec.offset, s.name, err)
			continue
		}
		atRest.addRequest(s.items(data))
		partitions[rec.partition] = true
		if s.partitionUnits == nil {
			continue
		}
		units := s.partitionUnits(data)
		if s.kafkaPartitionKey != "" && (len(units) != 1 || len(rec.key) == 0) {
			t.Errorf("topic %s partition %d offset %d: %d partitioning units, key %x; %s publishes one per keyed record",
				s.topic, rec.partition, rec.offset, len(units), rec.key, s.kafkaPartitionKey)
		}
		for _, u := range units {
			if p, ok := partitionOf[u]; !ok {
				partitionOf[u] = rec.partition
			} else if p != rec.partition && s.kafkaPartitionKey != "" {
				split = append(split, fmt.Sprintf("%s in partitions %d and %d", u, p, rec.partition))
			}
		}
	}
	t.Logf("topic %s: %d records over %d partitions, %d partitioning units", s.topic, len(records), len(partitions), len(partitionOf))
	assertExactlyOnce(t, "topic "+s.topic, sent, atRest)
	if len(split) > 0 {
		t.Errorf("%s did not keep %d units in one partition, first: %s", s.kafkaPartitionKey, len(split), split[0])
	}
}

// recordBytes writes the same requests through the comet exporter and the kafka exporter
// and compares what each stored, record by record.
func (s signal[T]) recordBytes(t *testing.T) {
	r := newRig(t, 1, s.topic) // one partition: records keep the order of the requests
	dir := t.TempDir()
	toComet := startExporter(r, s, cometExporterFactory, cometExporterBytesYAML(dir))
	toKafka := startExporter(r, s, kafkaExporterFactory, kafkaExporterYAML(r.brokers, s.name, s.topic, ""))

	var want [][]byte
	for req := range byteRequests {
		data := s.generate(req)
		encoded, err := s.marshal(data)
		if err != nil {
			t.Fatalf("encode %s request %d: %v", s.name, req, err)
		}
		want = append(want, encoded)
		if err := toComet(r.ctx, data); err != nil {
			t.Fatalf("comet exporter, request %d: %v", req, err)
		}
		if err := toKafka(r.ctx, data); err != nil {
			t.Fatalf("kafka exporter, request %d: %v", req, err)
		}
	}
	r.stopComponents()

	stored := r.readCometLog(dir, s.name)
	published := r.readTopic(s.topic)
	if len(stored) != len(want) || len(published) != len(want) {
		t.Fatalf("%d requests: the comet log holds %d records, topic %s %d; want one record per request",
			len(want), len(stored), s.topic, len(published))
	}
	var total int
	for i, w := range want {
		total += len(w)
		if !bytes.Equal(stored[i].data, published[i].value) {
			t.Errorf("request %d: the comet record (%d bytes) and the kafka record (%d bytes) differ at byte %d",
				i, len(stored[i].data), len(published[i].value), firstByteDifference(stored[i].data, published[i].value))
		}
		if !bytes.Equal(stored[i].data, w) {
			t.Errorf("request %d: the comet record (%d bytes) is not pdata's otlp_proto encoding (%d bytes): differs at byte %d",
				i, len(stored[i].data), len(w), firstByteDifference(stored[i].data, w))
		}
	}
	if !t.Failed() {
		t.Logf("%d %s requests, %d bytes of otlp_proto: comet records and kafka records identical", len(want), s.name, total)
	}
}

func firstByteDifference(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}
