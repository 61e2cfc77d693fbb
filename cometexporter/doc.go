// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate go tool mdatagen metadata.yaml

// Package cometexporter provides the "comet" exporter: it appends each
// traces, metrics or logs request, marshalled as OTLP protobuf, to a
// sharded, segmented log on local disk, and returns only once the append
// (and its fsync, under sync mode "always") has succeeded. The "comet"
// receiver reads the log back into another pipeline.
package cometexporter // import "github.com/comet-otel/comet/cometexporter"
