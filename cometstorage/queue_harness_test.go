// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
)

// The persistent queue of exporterhelper, driven as a collector would:
// an exporter whose sending_queue names a storage extension, started
// with a host that holds the extension.

var (
	queueExporterID = component.MustNewIDWithName("otlp", "edge")
	queueStorageID  = component.MustNewID("comet_storage")
)

// storageHost is a component.Host holding one storage extension.
type storageHost map[component.ID]component.Component

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h }

// startQueueExporter starts a logs exporter with a persistent sending
// queue on ext (a started storage extension) that pushes to push, retrying
// failures every few milliseconds for as long as it takes.
func startQueueExporter(tb testing.TB, ext component.Component, push consumer.ConsumeLogsFunc) exporter.Logs {
	tb.Helper()
	return startQueueExporterWith(tb, ext, push, zap.NewNop())
}

// startQueueExporterWith is startQueueExporter with the exporter logging to logger.
func startQueueExporterWith(tb testing.TB, ext component.Component, push consumer.ConsumeLogsFunc, logger *zap.Logger) exporter.Logs {
	tb.Helper()
	set := exportertest.NewNopSettings(queueExporterID.Type())
	set.Logger = logger
	set.ID = queueExporterID
	qcfg := exporterhelper.NewDefaultQueueConfig()
	qcfg.StorageID = &queueStorageID
	qcfg.QueueSize = 10_000_000
	qcfg.Batch = configoptional.None[exporterhelper.BatchConfig]()
	retry := configretry.NewDefaultBackOffConfig()
	retry.InitialInterval, retry.MaxInterval, retry.MaxElapsedTime = 5*time.Millisecond, 50*time.Millisecond, 0
	exp, err := exporterhelper.NewLogs(context.Background(), set, &struct{}{}, push,
		exporterhelper.WithQueue(configoptional.Some(qcfg)), exporterhelper.WithRetry(retry))
	require.NoError(tb, err)
	require.NoError(tb, exp.Start(context.Background(), storageHost{queueStorageID: ext}))
	return exp
}

// requestBody is the body of the first record of request id.
func requestBody(id int) string { return "req-" + strconv.Itoa(id) }

// makeRequest builds request id: one resource, one scope, 10 log records
// of about 100 bytes each; the first record names the request.
func makeRequest(id int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "edge-gateway")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := range 10 {
		r := records.AppendEmpty()
		r.SetTimestamp(1_700_000_000_000_000_000)
		r.SetSeverityNumber(plog.SeverityNumberInfo)
		if i == 0 {
			r.Body().SetStr(requestBody(id))
		} else {
			r.Body().SetStr("GET /api/v1/items 200 " + strings.Repeat("x", 70))
		}
		r.Attributes().PutInt("line", int64(i))
	}
	return ld
}

// requestID reads back the id of a request built by makeRequest.
func requestID(ld plog.Logs) (int, error) {
	if ld.ResourceLogs().Len() == 0 || ld.ResourceLogs().At(0).ScopeLogs().Len() == 0 ||
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().Len() == 0 {
		return 0, errors.New("empty request")
	}
	body := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str()
	return strconv.Atoi(strings.TrimPrefix(body, "req-"))
}

// recorder is a downstream that can be switched to failing and counts
// what it received, request by request.
type recorder struct {
	failing atomic.Bool
	mu      sync.Mutex
	seen    map[int]int
	changed chan struct{} // signalled after each delivery
}

func newRecorder() *recorder {
	return &recorder{seen: map[int]int{}, changed: make(chan struct{}, 1)}
}

func (r *recorder) push(_ context.Context, ld plog.Logs) error {
	if r.failing.Load() {
		return errors.New("downstream unavailable")
	}
	if ld.LogRecordCount() == 0 {
		// exporterhelper dispatches an empty request for the index of an
		// offer the storage refused (a full disk); a backend accepts it.
		return nil
	}
	id, err := requestID(ld)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.seen[id]++
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
	return nil
}

// distinct is the number of different requests received.
func (r *recorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// waitFor waits until cond holds over the received counts.
func (r *recorder) waitFor(tb testing.TB, timeout time.Duration, what string, cond func(seen map[int]int) bool) {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		ok := cond(r.seen)
		n := len(r.seen)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			tb.Fatalf("timed out after %s waiting for %s (%d distinct requests received)", timeout, what, n)
		}
	}
}

// offer sends requests [from, to) through exp from workers goroutines.
func offer(tb testing.TB, exp exporter.Logs, from, to, workers int) {
	tb.Helper()
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range workers {
		wg.Go(func() {
			for {
				id := int(next.Add(1) - 1)
				if id >= to {
					return
				}
				if err := exp.ConsumeLogs(context.Background(), makeRequest(id)); err != nil {
					if failed.Add(1) == 1 {
						tb.Errorf("request %d was not accepted: %v", id, err)
					}
				}
			}
		})
	}
	wg.Wait()
	require.Zero(tb, failed.Load(), "requests refused by the queue")
}

// missing lists the ids in [0, n) never received.
func missing(seen map[int]int, n int) []int {
	var out []int
	for id := range n {
		if seen[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// duplicates counts deliveries beyond the first.
func duplicates(seen map[int]int) int {
	d := 0
	for _, c := range seen {
		d += max(c-1, 0)
	}
	return d
}

func describeIDs(ids []int) string {
	if len(ids) > 10 {
		return fmt.Sprintf("%v... (%d in all)", ids[:10], len(ids))
	}
	return fmt.Sprint(ids)
}
