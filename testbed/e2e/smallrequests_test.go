// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/comet-otel/comet/testbed/internal/loadgen"
	"github.com/comet-otel/comet/testbed/internal/report"
)

// The small-requests scenario buffers a backlog sent in requests of 1, 10 and 100 items, then
// lets it drain: many SDKs and agents send a few items per request, and a drain that sends one
// downstream request per stored request is bound by round trips.

const tableSmall = "small_requests"

var smallRequestCases = []scenarioCase{
	{"comet_otlp_grpc", variantComet, tuning{Sync: "interval"}, "interval (default)"},
	{"comet_otlp_http", variantComet, tuning{Sync: "interval", Drain: "otlp_http"}, "interval (default)"},
	{"file_storage_batch", variantFileStorageBatch, tuning{}, "fsync off (file_storage default)"},
}

// smallRequestItems is how many items each run buffers (TESTBED_SMALL_ITEMS).
func smallRequestItems(t *testing.T) uint64 {
	n := uint64(200_000)
	if testing.Short() {
		n = 10_000
	}
	if v := os.Getenv("TESTBED_SMALL_ITEMS"); v != "" {
		parsed, err := strconv.ParseUint(v, 10, 64)
		if err != nil || parsed == 0 {
			t.Fatalf("TESTBED_SMALL_ITEMS=%q: want a positive integer", v)
		}
		n = parsed
	}
	return n
}

func TestSmallRequests(t *testing.T) {
	items := smallRequestItems(t)
	results.Table(tableSmall, fmt.Sprintf("Drain of a backlog of %s items by request size (backend refusing while it builds, then accepting)", report.Int(int64(items))),
		"drain", "items per request", "first delivery after up s", "drain items/s", "% of the 100-item rate", "lost")
	for _, c := range smallRequestCases {
		t.Run(c.name, func(t *testing.T) {
			rates := map[int]float64{}
			for _, size := range []int{100, 10, 1} {
				t.Run(strconv.Itoa(size), func(t *testing.T) {
					first, rate, lost := drainBySize(t, c, size, items)
					rates[size] = rate
					share := "100"
					if full := rates[100]; full > 0 && size != 100 {
						share = fmt.Sprintf("%.0f", rate/full*100)
					}
					addRow(t, tableSmall, c.name, strconv.Itoa(size), report.Seconds(first), report.Int(int64(rate)), share, report.Int(lost))
				})
			}
			noteVariant(tableSmall, c)
		})
	}
}

// drainBySize buffers items in requests of size items, then returns the time from the
// backend's return to the first delivery, the drain rate from the first to the last
// delivery, and the acknowledged items lost.
func drainBySize(t *testing.T, c scenarioCase, size int, items uint64) (first time.Duration, rate float64, lost int64) {
	r := newRig(t, c.v, c.tu)
	r.backend.SetUp(false)
	r.start()
	g := r.generator(loadgen.Options{
		TotalItems:      items,
		ItemsPerRequest: size,
		MaxAttempts:     50,
		RetryDelay:      200 * time.Millisecond,
		RequestTimeout:  10 * time.Second,
	})
	r.run(g, 10*time.Minute)
	if acked := g.Stats().AckedItems; uint64(acked) != items {
		t.Fatalf("acknowledged %d of %d items while the backend refused: %s", acked, items, g.Stats().CodesString())
	}
	time.Sleep(time.Second) // the buffer settles

	up := time.Now()
	r.backend.SetUp(true)
	r.waitDelivered(g.Acked(), 5*time.Minute)
	first, ok := r.backend.FirstDeliverySinceUp()
	if !ok {
		t.Fatal("drained without a first delivery")
	}
	drain := r.backend.LastAccepted().Sub(up.Add(first))
	r.stop()

	lost = g.Acked().Missing(r.backend.Delivered())
	if lost != 0 && c.v.Name == variantComet.Name {
		t.Errorf("%d acknowledged items lost", lost)
	}
	rate = float64(items) / max(drain.Seconds(), 0.001)
	t.Logf("%s, %d items per request: first delivery %v after up, drained at %.0f items/s", c.name, size, first.Round(time.Millisecond), rate)
	return first, rate, lost
}
