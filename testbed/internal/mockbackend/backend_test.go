// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package mockbackend

import (
	"bytes"
	"compress/gzip"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/comet-otel/comet/testbed/internal/loadgen"
)

func startBackend(t *testing.T) *Backend {
	t.Helper()
	b, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return b
}

// The generator talks straight to the backend: everything acknowledged must be delivered,
// exactly once.
func TestBackend_CountsWhatTheGeneratorAcked(t *testing.T) {
	b := startBackend(t)
	gen, err := loadgen.New(loadgen.Options{Endpoint: b.GRPCEndpoint(), TotalItems: 10_000, ItemsPerRequest: 50})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := gen.Run(ctx); err != nil {
		t.Fatal(err)
	}
	gs, bs := gen.Stats(), b.Stats()
	if gs.AckedItems != 10_000 || gen.Acked().Count() != 10_000 {
		t.Fatalf("acked %d items (set %d), want 10000; codes %s", gs.AckedItems, gen.Acked().Count(), gs.CodesString())
	}
	if bs.Delivered != 10_000 || bs.Duplicates != 0 || bs.Unnumbered != 0 {
		t.Fatalf("backend stats %+v, want 10000 delivered and nothing else", bs)
	}
	if lost := gen.Acked().Missing(b.Delivered()); lost != 0 {
		t.Fatalf("%d acknowledged items not delivered", lost)
	}
}

func TestBackend_DownRefusesAndUpRecordsFirstDelivery(t *testing.T) {
	b := startBackend(t)
	b.SetUp(false)
	gen, err := loadgen.New(loadgen.Options{Endpoint: b.GRPCEndpoint(), TotalItems: 400, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := gen.Run(ctx); err != nil {
		t.Fatal(err)
	}
	gs := gen.Stats()
	if gs.AckedItems != 0 || gs.FailedItems != 400 || gs.Codes["Unavailable"] != 4 {
		t.Fatalf("while down: %+v, want 400 failed items with 4 Unavailable", gs)
	}
	if b.Stats().Refused != 4 {
		t.Fatalf("refused = %d, want 4", b.Stats().Refused)
	}
	if _, ok := b.FirstDeliverySinceUp(); ok {
		t.Fatal("a first delivery is reported before any")
	}

	b.SetUp(true)
	postLogs(t, b, 7, "gzip")
	if d, ok := b.FirstDeliverySinceUp(); !ok || d < 0 {
		t.Fatalf("FirstDeliverySinceUp = %v, %v", d, ok)
	}
	if got := b.Stats().Delivered; got != 1 || !b.Delivered().Has(7) {
		t.Fatalf("delivered = %d, want the one record sent over HTTP", got)
	}
	postLogs(t, b, 7, "")
	if got := b.Stats().Duplicates; got != 1 {
		t.Fatalf("duplicates = %d, want 1", got)
	}
}

func postLogs(t *testing.T, b *Backend, seq int64, encoding string) {
	t.Helper()
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Attributes().PutInt(loadgen.SeqAttribute, seq)
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	if encoding == "gzip" {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		if _, err := gz.Write(body); err != nil {
			t.Fatal(err)
		}
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
		body = buf.Bytes()
	}
	req, err := http.NewRequest(http.MethodPost, b.HTTPEndpoint()+"/v1/logs", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/logs: %s", resp.Status)
	}
}

// A disconnected backend refuses connections (a host that went away); reconnected, it
// serves on the same addresses and counts the first delivery from the moment it came back.
func TestBackend_DisconnectRefusesConnectionsReconnectServesTheSameAddresses(t *testing.T) {
	b := startBackend(t)
	grpcAddr, httpURL := b.GRPCEndpoint(), b.HTTPEndpoint()
	b.Disconnect()
	for _, addr := range []string{grpcAddr, strings.TrimPrefix(httpURL, "http://")} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			t.Fatalf("%s accepts connections while disconnected", addr)
		}
	}
	if err := b.Reconnect(); err != nil {
		t.Fatal(err)
	}
	if b.GRPCEndpoint() != grpcAddr || b.HTTPEndpoint() != httpURL {
		t.Fatal("the addresses changed")
	}
	if _, ok := b.FirstGRPCConnectSinceReconnect(); ok {
		t.Fatal("a gRPC connection noted before any client connected")
	}
	gen, err := loadgen.New(loadgen.Options{Endpoint: grpcAddr, TotalItems: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := gen.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.Stats().Delivered; got != 100 {
		t.Fatalf("delivered %d after reconnecting, want 100", got)
	}
	if d, ok := b.FirstDeliverySinceUp(); !ok || d <= 0 || d > 30*time.Second {
		t.Fatalf("first delivery since up: %v, %v", d, ok)
	}
	connect, ok := b.FirstGRPCConnectSinceReconnect()
	if first, _ := b.FirstDeliverySinceUp(); !ok || connect <= 0 || connect > first {
		t.Fatalf("first gRPC connection since reconnect: %v, %v (first delivery %v)", connect, ok, first)
	}
}
