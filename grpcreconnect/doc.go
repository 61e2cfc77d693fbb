// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate go tool mdatagen metadata.yaml

// Package grpcreconnect is the grpc_reconnect extension: a gRPC client
// middleware that bounds how long a gRPC connection waits between
// attempts to reconnect.
//
// A gRPC client whose server went away reconnects with exponential
// backoff, from 1 s up to 120 s by default, and configgrpc has no key for
// it. After an outage the server may be back for up to two minutes
// before the client tries again, and until then every request fails at
// once. Listed in an exporter's middlewares, this extension gives the
// exporter's connection its own backoff (by default at most 1 s), so
// that a drain resumes within about a second of the backend's return.
package grpcreconnect // import "github.com/comet-otel/comet/grpcreconnect"
