// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package kafka proves that data moves between the comet components and contrib's Kafka
// exporter and receiver unchanged, so a user who outgrows one machine can move to Kafka
// (or back) without touching what downstream consumers see.
//
// Its tests run in-process against a Kafka cluster of franz-go's kfake on 127.0.0.1, with
// the components created through their factories from the YAML keys the root README maps:
//
//   - TestKafkaInterchange: per signal, comet receiver -> kafka exporter -> topic -> kafka
//     receiver -> sink, and kafka receiver -> comet exporter -> comet receiver -> sink;
//     every item arrives exactly once with its resource, scope and content unchanged.
//   - TestKafkaRecordBytes: per signal, the record the comet exporter stores is
//     byte-identical to the record the kafka exporter publishes with encoding otlp_proto.
//
// The package has no code of its own outside its tests: it lives in the testbed module so
// that contrib's Kafka dependencies never reach the root module.
package kafka // import "github.com/comet-otel/comet/testbed/kafka"
