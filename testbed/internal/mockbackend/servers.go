// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package mockbackend // import "github.com/comet-otel/comet/testbed/internal/mockbackend"

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

// servers are the backend's gRPC and HTTP servers on their listeners.
type servers struct {
	grpcLn, httpLn net.Listener
	grpcSrv        *grpc.Server
	httpSrv        *http.Server
	serveWG        sync.WaitGroup
}

// listenAndServe starts the servers on the given addresses ("127.0.0.1:0" for any port).
func (b *Backend) listenAndServe(grpcAddr, httpAddr string) (*servers, error) {
	grpcLn, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		return nil, fmt.Errorf("mockbackend: listen grpc: %w", err)
	}
	httpLn, err := net.Listen("tcp", httpAddr)
	if err != nil {
		_ = grpcLn.Close()
		return nil, fmt.Errorf("mockbackend: listen http: %w", err)
	}
	grpcLn = &acceptNotingListener{Listener: grpcLn, accepted: b.connected}
	s := &servers{grpcLn: grpcLn, httpLn: httpLn, grpcSrv: grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))}
	ptraceotlp.RegisterGRPCServer(s.grpcSrv, &traceServer{b: b})
	plogotlp.RegisterGRPCServer(s.grpcSrv, &logServer{b: b})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", b.handleHTTP(decodeTraces))
	mux.HandleFunc("POST /v1/logs", b.handleHTTP(decodeLogs))
	s.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.serveWG.Go(func() { _ = s.grpcSrv.Serve(grpcLn) })
	s.serveWG.Go(func() {
		if err := s.httpSrv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.invalid.Add(1)
		}
	})
	return s, nil
}

// acceptNotingListener tells accepted when it accepts a connection.
type acceptNotingListener struct {
	net.Listener
	accepted func(at time.Time)
}

func (l *acceptNotingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err == nil {
		l.accepted(time.Now())
	}
	return conn, err
}

// shutdown stops both servers, waiting for handlers in flight until ctx is done.
func (s *servers) shutdown(ctx context.Context) error {
	stopped := make(chan struct{})
	go func() {
		s.grpcSrv.GracefulStop()
		close(stopped)
	}()
	err := s.httpSrv.Shutdown(ctx)
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpcSrv.Stop()
		<-stopped
		err = errors.Join(err, ctx.Err())
	}
	s.serveWG.Wait()
	return err
}

// kill closes both servers and every connection at once, as a host that went away.
func (s *servers) kill() {
	s.grpcSrv.Stop()
	_ = s.httpSrv.Close()
	s.serveWG.Wait()
}

// Disconnect makes the backend unreachable: its listeners and every open connection close,
// so clients get connection refused (and gRPC clients fall into their reconnect backoff),
// not a retryable answer as with SetUp(false).
func (b *Backend) Disconnect() {
	b.srvMu.Lock()
	defer b.srvMu.Unlock()
	if b.srv != nil {
		b.srv.kill()
		b.srv = nil
	}
}

// Reconnect listens again on the same addresses and serves, up; FirstDeliverySinceUp counts
// from here.
func (b *Backend) Reconnect() error {
	b.srvMu.Lock()
	defer b.srvMu.Unlock()
	if b.srv != nil {
		return nil
	}
	b.mu.Lock()
	b.reconnected, b.firstConnect = time.Now(), time.Time{}
	b.mu.Unlock()
	srv, err := b.listenAndServe(b.grpcAddr, b.httpAddr)
	if err != nil {
		return err
	}
	b.srv = srv
	b.SetUp(false) // so that SetUp(true) marks this moment as the return
	b.SetUp(true)
	return nil
}
