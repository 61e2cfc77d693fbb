// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package loadgen sends OTLP traces and logs over gRPC and records, item by item, what the
// receiving collector acknowledged.
//
// Every span and log record carries a unique sequence number (attribute SeqAttribute). A
// request whose Export returns OK with no partial rejection marks all its items acknowledged;
// a failed request is retried with the same items up to Options.MaxAttempts times and then
// counted as failed. Acknowledged numbers accumulate over every Run of one Generator, so a
// scenario can restart the collector between runs and still compare one set with the backend.
package loadgen // import "github.com/comet-otel/comet/testbed/internal/loadgen"

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/comet-otel/comet/testbed/internal/seqset"
)

// Options shape the load. Zero values take the defaults named on each field.
type Options struct {
	// Endpoint is the collector's OTLP gRPC address, host:port. Required.
	Endpoint string
	// Signals to send; workers alternate between them. Default: traces and logs.
	Signals []Signal
	// Workers is the number of concurrent senders. Default 4.
	Workers int
	// ItemsPerRequest is the number of spans or log records in one request. Default 100.
	ItemsPerRequest int
	// TotalItems stops a run once this many items (counted over all runs) have been handed
	// out. 0: no limit.
	TotalItems uint64
	// FirstSeq is the first sequence number handed out, so that two generators sending to
	// one backend never share a number. Default 0.
	FirstSeq uint64
	// Duration stops a run from starting new requests after this long. 0: no limit.
	Duration time.Duration
	// RequestTimeout bounds one Export call. Default 5s.
	RequestTimeout time.Duration
	// MaxAttempts is how often one request is tried before it counts as failed. Default 1.
	MaxAttempts int
	// RetryDelay is the pause between attempts of one request. Default 50ms.
	RetryDelay time.Duration
	// ItemsPerSecond caps the send rate over all workers. 0: unthrottled.
	ItemsPerSecond float64
	// FillerBytes is the length of a pseudo-random hex attribute (testbed.request_id; the body
	// of a log record) that gives items a realistic size and compressibility. Default 64.
	FillerBytes int
}

func (o *Options) setDefaults() error {
	if o.Endpoint == "" {
		return errors.New("loadgen: Endpoint is required")
	}
	if len(o.Signals) == 0 {
		o.Signals = []Signal{Traces, Logs}
	}
	for _, s := range o.Signals {
		if s != Traces && s != Logs {
			return fmt.Errorf("loadgen: unknown signal %q", s)
		}
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.ItemsPerRequest <= 0 {
		o.ItemsPerRequest = 100
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 1
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 50 * time.Millisecond
	}
	if o.FillerBytes < 0 {
		return errors.New("loadgen: FillerBytes must not be negative")
	}
	if o.FillerBytes == 0 {
		o.FillerBytes = 64
	}
	return nil
}

// Stats are cumulative over all runs of a Generator.
type Stats struct {
	SentItems      int64 // items handed to at least one Export attempt
	AckedItems     int64 // items in requests the collector acknowledged
	Requests       int64 // requests (not attempts) started
	AckedRequests  int64
	FailedRequests int64 // requests that failed on their last attempt
	FailedItems    int64
	Retries        int64 // attempts beyond the first
	// PartiallyRejected counts items a collector reported as rejected in an OK response; the
	// whole request then counts as failed, since the response does not say which items.
	PartiallyRejected int64
	// Codes counts failed attempts by gRPC status code ("DeadlineExceeded", "Unavailable", ...).
	Codes map[string]int64
	// Elapsed is the wall time of the last run.
	Elapsed time.Duration
}

// Generator sends load; it is safe to call Stats and Acked while Run is active.
type Generator struct {
	opts    Options
	payload payload
	acked   *seqset.Set
	next    atomic.Uint64 // next sequence number to hand out

	sent, ackedItems, requests, ackedRequests atomic.Int64
	failedRequests, failedItems, retries      atomic.Int64
	partiallyRejected                         atomic.Int64

	mu      sync.Mutex
	codes   map[string]int64
	elapsed time.Duration
}

// New validates opts and returns a generator; it opens no connection until Run.
func New(opts Options) (*Generator, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	g := &Generator{
		opts:    opts,
		payload: newPayload(opts.FillerBytes, rand.Uint64()),
		acked:   seqset.New(),
		codes:   map[string]int64{},
	}
	g.next.Store(opts.FirstSeq)
	return g, nil
}

// Acked is the set of acknowledged sequence numbers (live, shared with the generator).
func (g *Generator) Acked() *seqset.Set { return g.acked }

// Issued is the number of sequence numbers handed out so far: every number from FirstSeq up
// to FirstSeq+Issued was put in a request.
func (g *Generator) Issued() uint64 { return g.next.Load() - g.opts.FirstSeq }

// Run sends load until ctx is done, Duration has passed or TotalItems are handed out, and
// waits for its workers. Cancelling ctx aborts requests in flight; their items count as not
// acknowledged. Run returns an error only when it cannot start.
func (g *Generator) Run(ctx context.Context) error {
	conn, err := grpc.NewClient(g.opts.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("loadgen: connect to %s: %w", g.opts.Endpoint, err)
	}
	defer conn.Close()
	traces := ptraceotlp.NewGRPCClient(conn)
	logs := plogotlp.NewGRPCClient(conn)

	start := time.Now()
	var stopAt time.Time
	if g.opts.Duration > 0 {
		stopAt = start.Add(g.opts.Duration)
	}
	var perWorkerInterval time.Duration
	if g.opts.ItemsPerSecond > 0 {
		perWorker := g.opts.ItemsPerSecond / float64(g.opts.Workers)
		perWorkerInterval = time.Duration(float64(g.opts.ItemsPerRequest) / perWorker * float64(time.Second))
	}

	var wg sync.WaitGroup
	for w := range g.opts.Workers {
		signal := g.opts.Signals[w%len(g.opts.Signals)]
		wg.Go(func() {
			next := time.Now()
			for ctx.Err() == nil && (stopAt.IsZero() || time.Now().Before(stopAt)) {
				first, n, ok := g.allocate()
				if !ok {
					return
				}
				if perWorkerInterval > 0 {
					if !sleep(ctx, time.Until(next)) {
						// The numbers were handed out but never sent: neither sent nor acknowledged.
						return
					}
					next = next.Add(perWorkerInterval)
				}
				g.send(ctx, signal, traces, logs, first, n)
			}
		})
	}
	wg.Wait()
	g.mu.Lock()
	g.elapsed = time.Since(start)
	g.mu.Unlock()
	return nil
}

func (g *Generator) allocate() (first uint64, n int, ok bool) {
	per := uint64(g.opts.ItemsPerRequest)
	first = g.next.Add(per) - per
	if g.opts.TotalItems == 0 {
		return first, int(per), true
	}
	end := g.opts.FirstSeq + g.opts.TotalItems
	if first >= end {
		// Give the numbers back only if nobody raced past us; otherwise they stay unused,
		// which is harmless: unused numbers are neither sent nor acknowledged.
		g.next.CompareAndSwap(first+per, first)
		return 0, 0, false
	}
	return first, int(min(per, end-first)), true
}

func (g *Generator) send(ctx context.Context, signal Signal, traces ptraceotlp.GRPCClient, logs plogotlp.GRPCClient, first uint64, n int) {
	g.requests.Add(1)
	g.sent.Add(int64(n))
	var export func(context.Context) (rejected int64, err error)
	switch signal {
	case Traces:
		req := ptraceotlp.NewExportRequestFromTraces(g.payload.traces(first, n))
		export = func(ctx context.Context) (int64, error) {
			resp, err := traces.Export(ctx, req)
			if err != nil {
				return 0, err
			}
			return resp.PartialSuccess().RejectedSpans(), nil
		}
	default:
		req := plogotlp.NewExportRequestFromLogs(g.payload.logs(first, n))
		export = func(ctx context.Context) (int64, error) {
			resp, err := logs.Export(ctx, req)
			if err != nil {
				return 0, err
			}
			return resp.PartialSuccess().RejectedLogRecords(), nil
		}
	}

	attempts := 0
	for attempt := 1; attempt <= g.opts.MaxAttempts && ctx.Err() == nil; attempt++ {
		attempts = attempt
		if attempt > 1 {
			g.retries.Add(1)
		}
		rctx, cancel := context.WithTimeout(ctx, g.opts.RequestTimeout)
		rejected, err := export(rctx)
		cancel()
		if err == nil && rejected == 0 {
			g.acked.AddRange(first, uint64(n))
			g.ackedItems.Add(int64(n))
			g.ackedRequests.Add(1)
			return
		}
		if err == nil {
			g.partiallyRejected.Add(rejected)
			g.countCode(codes.InvalidArgument)
		} else {
			g.countCode(status.Code(err))
		}
		if attempt < g.opts.MaxAttempts && !sleep(ctx, g.opts.RetryDelay) {
			break
		}
	}
	if attempts == 0 {
		g.countCode(codes.Canceled)
	}
	g.fail(n)
}

func (g *Generator) fail(n int) {
	g.failedRequests.Add(1)
	g.failedItems.Add(int64(n))
}

func (g *Generator) countCode(code codes.Code) {
	g.mu.Lock()
	g.codes[code.String()]++
	g.mu.Unlock()
}

// Stats returns a snapshot of the cumulative counters.
func (g *Generator) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := make(map[string]int64, len(g.codes))
	for k, v := range g.codes {
		c[k] = v
	}
	return Stats{
		SentItems:         g.sent.Load(),
		AckedItems:        g.ackedItems.Load(),
		Requests:          g.requests.Load(),
		AckedRequests:     g.ackedRequests.Load(),
		FailedRequests:    g.failedRequests.Load(),
		FailedItems:       g.failedItems.Load(),
		Retries:           g.retries.Load(),
		PartiallyRejected: g.partiallyRejected.Load(),
		Codes:             c,
		Elapsed:           g.elapsed,
	}
}

// CodesString renders failed-attempt codes as "Unavailable=3 DeadlineExceeded=1", sorted.
func (s Stats) CodesString() string {
	keys := make([]string, 0, len(s.Codes))
	for k := range s.Codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := ""
	for _, k := range keys {
		if out != "" {
			out += " "
		}
		out += fmt.Sprintf("%s=%d", k, s.Codes[k])
	}
	return out
}

// sleep waits d or until ctx is done and reports whether the full wait happened.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
