// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate go tool mdatagen metadata.yaml

// Package comet is the root of the Comet module: OpenTelemetry Collector
// components that buffer telemetry on local disk (cometexporter,
// cometreceiver, cometstorage, grpcreconnect) over one embedded segmented
// log (internal/log).
//
// This package holds no code. Its metadata.yaml declares what the
// components share: the engine's own telemetry, generated into
// internal/metadata and documented in documentation.md, which the
// components report through internal/logtelemetry.
package comet // import "github.com/comet-otel/comet"
