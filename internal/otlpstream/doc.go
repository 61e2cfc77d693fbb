// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package otlpstream is the contract between the comet exporter, which
// writes OTLP into the log, and the comet receiver (and cometctl), which
// read it back: which stream each signal lives in, and how a signal's
// requests are encoded, decoded, counted, split and merged.
//
// # Streams
//
// Each signal has its own namespace in the log, named after the signal
// ("traces", "metrics", "logs", "profiles"), at version [Version]: the
// stream of shard 3 of traces is "traces:v1:shard:0003".
//
// # Records
//
// A record's payload is one OTLP Export<Signal>ServiceRequest in protobuf:
// the bytes contrib's Kafka exporter publishes with encoding otlp_proto,
// so a record and a Kafka message of the same request are interchangeable.
// The version changes only if that payload changes.
//
// # Adding a signal
//
// A signal is one [Codec] value in a file of its own (see traces.go);
// the exporter and the receiver reach every signal through a Codec.
package otlpstream // import "github.com/comet-otel/comet/internal/otlpstream"
