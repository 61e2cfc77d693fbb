// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package grpcreconnect // import "github.com/comet-otel/comet/grpcreconnect"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionmiddleware"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// reconnectExtension hands its connect parameters to every gRPC client
// that lists it in its middlewares.
type reconnectExtension struct {
	component.StartFunc
	component.ShutdownFunc
	params grpc.ConnectParams
}

var (
	_ extension.Extension            = (*reconnectExtension)(nil)
	_ extensionmiddleware.GRPCClient = (*reconnectExtension)(nil)
)

func newReconnectExtension(cfg *Config) *reconnectExtension {
	return &reconnectExtension{params: grpc.ConnectParams{
		Backoff: backoff.Config{
			BaseDelay:  cfg.BaseDelay,
			Multiplier: cfg.Multiplier,
			Jitter:     cfg.Jitter,
			MaxDelay:   cfg.MaxDelay,
		},
		MinConnectTimeout: cfg.MinConnectTimeout,
	}}
}

// GetGRPCClientOptions returns the dial option that sets the reconnect
// backoff.
func (e *reconnectExtension) GetGRPCClientOptions(context.Context) ([]grpc.DialOption, error) {
	return []grpc.DialOption{grpc.WithConnectParams(e.params)}, nil
}
