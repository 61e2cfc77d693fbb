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
		// gRPC's own defaults, but for max_delay: 120 s there, which is
		// how long a recovered backend can wait for its clients.
		BaseDelay:  time.Second,
		Multiplier: 1.6,
		Jitter:     0.2,
		// A reconnect attempt at least every second (1.2 s with jitter).
		MaxDelay: time.Second,
		// gRPC's default.
		MinConnectTimeout: 20 * time.Second,
	}
}

func createExtension(_ context.Context, _ extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newReconnectExtension(cfg.(*Config)), nil
}
