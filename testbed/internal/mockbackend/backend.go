// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package mockbackend is an in-process OTLP backend (gRPC and HTTP on loopback) that records
// which sequence numbers arrived, and can be switched down and up to simulate an outage.
//
// While down it answers gRPC with Unavailable and HTTP with 503, both retryable for the
// collector's OTLP exporters, so an outage never turns into a permanent drop.
package mockbackend // import "github.com/comet-otel/comet/testbed/internal/mockbackend"

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // the OTLP gRPC exporter compresses with gzip by default
	"google.golang.org/grpc/status"

	"github.com/comet-otel/comet/testbed/internal/loadgen"
	"github.com/comet-otel/comet/testbed/internal/seqset"
)

// Stats are the backend's counters since Start.
type Stats struct {
	Delivered  int64 // distinct sequence numbers received
	Duplicates int64 // items whose sequence number had arrived before
	Unnumbered int64 // items without a sequence number
	Requests   int64 // export requests accepted
	Refused    int64 // export requests answered with Unavailable / 503 while down
	Invalid    int64 // HTTP requests that could not be decoded
}

// Backend receives OTLP. Create it with Start and stop it with Shutdown.
type Backend struct {
	grpcAddr, httpAddr string // fixed for the backend's life, across Disconnect/Reconnect

	srvMu sync.Mutex
	srv   *servers // nil while disconnected

	up        atomic.Bool
	delivered *seqset.Set
	dups      atomic.Int64
	unnum     atomic.Int64
	requests  atomic.Int64
	refused   atomic.Int64
	invalid   atomic.Int64

	mu           sync.Mutex
	upAt         time.Time // last switch to up
	firstAfterUp time.Time // first accepted request since upAt
	lastAccepted time.Time
	reconnected  time.Time // last Reconnect
	firstConnect time.Time // first gRPC connection accepted since reconnected
}

// Start listens on two OS-chosen loopback ports and serves until Shutdown. The backend starts
// up (accepting).
func Start() (*Backend, error) {
	b := &Backend{delivered: seqset.New()}
	b.up.Store(true)
	b.upAt = time.Now()
	srv, err := b.listenAndServe("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.srv = srv
	b.grpcAddr, b.httpAddr = srv.grpcLn.Addr().String(), srv.httpLn.Addr().String()
	return b, nil
}

// GRPCEndpoint is host:port of the OTLP gRPC server.
func (b *Backend) GRPCEndpoint() string { return b.grpcAddr }

// HTTPEndpoint is the base URL of the OTLP HTTP server (paths /v1/traces and /v1/logs).
func (b *Backend) HTTPEndpoint() string { return "http://" + b.httpAddr }

// SetUp switches the backend up (accepting) or down (refusing with a retryable error).
func (b *Backend) SetUp(up bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if up && !b.up.Load() {
		b.upAt = time.Now()
		b.firstAfterUp = time.Time{}
	}
	b.up.Store(up)
}

// FirstDeliverySinceUp is the time from the last switch to up until the first request that was
// accepted after it; ok is false while none has been.
func (b *Backend) FirstDeliverySinceUp() (d time.Duration, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.firstAfterUp.IsZero() {
		return 0, false
	}
	return b.firstAfterUp.Sub(b.upAt), true
}

// FirstGRPCConnectSinceReconnect is the time from the last Reconnect until the gRPC server
// accepted its first connection, that is, until a gRPC client's reconnect backoff let it try
// again; ok is false while none has connected.
func (b *Backend) FirstGRPCConnectSinceReconnect() (d time.Duration, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.firstConnect.IsZero() {
		return 0, false
	}
	return b.firstConnect.Sub(b.reconnected), true
}

// connected notes a gRPC connection accepted at now.
func (b *Backend) connected(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.firstConnect.IsZero() {
		b.firstConnect = now
	}
}

// LastAccepted is when the last request was accepted (zero if none was).
func (b *Backend) LastAccepted() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastAccepted
}

// Delivered is the live set of sequence numbers received.
func (b *Backend) Delivered() *seqset.Set { return b.delivered }

// Stats returns a snapshot of the counters.
func (b *Backend) Stats() Stats {
	return Stats{
		Delivered:  b.delivered.Count(),
		Duplicates: b.dups.Load(),
		Unnumbered: b.unnum.Load(),
		Requests:   b.requests.Load(),
		Refused:    b.refused.Load(),
		Invalid:    b.invalid.Load(),
	}
}

// Shutdown stops both servers, waiting for handlers in flight until ctx is done.
func (b *Backend) Shutdown(ctx context.Context) error {
	b.srvMu.Lock()
	defer b.srvMu.Unlock()
	if b.srv == nil {
		return nil
	}
	err := b.srv.shutdown(ctx)
	b.srv = nil
	return err
}

// admit reports whether a request may be accepted, counting a refusal otherwise.
func (b *Backend) admit() bool {
	if !b.up.Load() {
		b.refused.Add(1)
		return false
	}
	return true
}

func (b *Backend) accepted() {
	b.requests.Add(1)
	now := time.Now()
	b.mu.Lock()
	if b.firstAfterUp.IsZero() {
		b.firstAfterUp = now
	}
	b.lastAccepted = now
	b.mu.Unlock()
}

func (b *Backend) record(seq uint64, ok bool) {
	switch {
	case !ok:
		b.unnum.Add(1)
	case !b.delivered.Add(seq):
		b.dups.Add(1)
	}
}

func (b *Backend) recordTraces(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				b.record(loadgen.SeqOf(spans.At(k).Attributes()))
			}
		}
	}
	b.accepted()
}

func (b *Backend) recordLogs(ld plog.Logs) {
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				b.record(loadgen.SeqOf(lrs.At(k).Attributes()))
			}
		}
	}
	b.accepted()
}

var errDown = status.Error(codes.Unavailable, "mock backend is down")

type traceServer struct {
	ptraceotlp.UnimplementedGRPCServer
	b *Backend
}

func (s *traceServer) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	if !s.b.admit() {
		return ptraceotlp.NewExportResponse(), errDown
	}
	s.b.recordTraces(req.Traces())
	return ptraceotlp.NewExportResponse(), nil
}

type logServer struct {
	plogotlp.UnimplementedGRPCServer
	b *Backend
}

func (s *logServer) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	if !s.b.admit() {
		return plogotlp.NewExportResponse(), errDown
	}
	s.b.recordLogs(req.Logs())
	return plogotlp.NewExportResponse(), nil
}
