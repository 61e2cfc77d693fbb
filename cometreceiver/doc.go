// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate go tool mdatagen metadata.yaml

// Package cometreceiver provides the "comet" receiver: it reads the OTLP
// protobuf records the "comet" exporter appended to a disk log, through a
// durable consumer group, and pushes them into its pipeline. A record is
// acknowledged only after the next consumer accepted it, so delivery is at
// least once across restarts and crashes.
package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"
