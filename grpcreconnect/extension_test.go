// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package grpcreconnect

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configmiddleware"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/comet-otel/comet/grpcreconnect/internal/metadata"
)

// TestExtension_ClientReconnectsWithinMaxDelay is the case the extension
// exists for: a gRPC exporter's backend is down long enough for gRPC's own
// backoff to grow to several seconds, then comes back. Through configgrpc,
// as an exporter's `middlewares` list uses it, the client must reconnect
// within the extension's max_delay.
func TestExtension_ClientReconnectsWithinMaxDelay(t *testing.T) {
	// Reserve a loopback port with no server behind it yet.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())

	cfg := createDefaultConfig().(*Config)
	cfg.BaseDelay, cfg.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	id := component.NewID(metadata.Type)
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, ext.Shutdown(context.Background())) }()

	cc := configgrpc.NewDefaultClientConfig()
	cc.Endpoint = addr
	cc.TLS = configtls.ClientConfig{Insecure: true}
	cc.Middlewares = []configmiddleware.Config{{ID: id}}
	conn, err := cc.ToClientConn(context.Background(), map[component.ID]component.Component{id: ext}, componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	check := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}

	// Down for 3 s: gRPC's default backoff would now wait 2.5 s or more.
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		require.Error(t, check(), "no server yet")
	}

	lis, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	back := time.Now()
	for check() != nil {
		require.Less(t, time.Since(back), 5*time.Second, "the client never reconnected")
		time.Sleep(10 * time.Millisecond)
	}
	assert.Less(t, time.Since(back), 600*time.Millisecond, "reconnected within max_delay (200ms, +20%% jitter) and a round trip")
}
