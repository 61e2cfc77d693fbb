// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package grpcreconnect // import "github.com/comet-otel/comet/grpcreconnect"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/comet-otel/comet/grpcreconnect/internal/metadata"
)

// NewFactory returns the factory of the grpc_reconnect extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{
		// gRPC's own multiplier and jitter; its delays are 1 s growing
		// to 120 s, which is how long a recovered backend can wait for
		// its clients.
		Multiplier: 1.6,
		Jitter:     0.2,
		// A reconnect attempt at least every 0.6 s (with jitter): with the
		// comet receiver's probe (at most 1.2 s later), a drain resumes
		// within 2 s of the backend's return whatever the outage length.
		// An attempt on a down backend is one refused TCP connection.
		BaseDelay: 500 * time.Millisecond,
		MaxDelay:  500 * time.Millisecond,
		// gRPC's default.
		MinConnectTimeout: 20 * time.Second,
	}
}

func createExtension(_ context.Context, _ extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newReconnectExtension(cfg.(*Config)), nil
}
