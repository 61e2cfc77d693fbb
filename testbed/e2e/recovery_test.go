// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/comet-otel/comet/testbed/internal/loadgen"
	"github.com/comet-otel/comet/testbed/internal/plot"
	"github.com/comet-otel/comet/testbed/internal/report"
)

// The recovery scenario is the moment the buffer exists for: the uplink comes back after an
// outage. The backend is made unreachable (connections refused, as when a host or link goes
// away: gRPC clients fall into their reconnect backoff), load is buffered during the hold,
// then the backend returns on the same address. Measured: the time from its return to the
// first delivered item, and the drain that follows.

const tableRecovery = "recovery"

// recoveryCase is one way of draining after the outage.
type recoveryCase struct {
	scenarioCase
	// promise is the longest time to first delivery the product promises for this drain;
	// 0: measured and reported, not asserted (plain otlp_grpc, the anchor).
	promise time.Duration
	// afterConnect is the longest time the product promises from the drain's gRPC reconnect
	// (the backend's first accepted connection) to the first delivery: the receiver adds at
	// most its probe interval to gRPC's own backoff. 0: not asserted.
	afterConnect time.Duration
	comet        bool // a comet edge buffer: its log lines are checked
}

var recoveryCases = []recoveryCase{
	{scenarioCase{"comet_otlp_http", variantComet, tuning{Sync: "interval", Drain: "otlp_http"}, "interval (default)"}, 2 * time.Second, 0, true},
	{scenarioCase{"comet_otlp_grpc_reconnect", variantComet, tuning{Sync: "interval", Drain: "otlp_grpc/reconnect"}, "interval (default)"}, 2 * time.Second, 2 * time.Second, true},
	// The probe interval is at most 1.2 s (max_interval 1 s, ±20%); the rest is slack for
	// gRPC's handshake on a loaded machine.
	{scenarioCase{"comet_otlp_grpc", variantComet, tuning{Sync: "interval", Drain: "otlp_grpc"}, "interval (default)"}, 0, 2 * time.Second, true},
	{scenarioCase{"file_storage_batch", variantFileStorageBatch, tuning{}, "fsync off (file_storage default)"}, 0, 0, false},
}

// recoveryScale sizes the scenario: the hold (TESTBED_HOLD) and the items buffered during it
// (TESTBED_RECOVERY_ITEMS).
type recoveryScale struct {
	Hold  time.Duration
	Items uint64
}

func recoveryScaleFromEnv(t *testing.T) recoveryScale {
	s := recoveryScale{Hold: 2 * time.Minute, Items: 200_000}
	if testing.Short() {
		s = recoveryScale{Hold: 20 * time.Second, Items: 20_000}
	}
	if v := os.Getenv("TESTBED_HOLD"); v != "" {
		s.Hold = parseDuration(t, "TESTBED_HOLD", v)
	}
	if v := os.Getenv("TESTBED_RECOVERY_ITEMS"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			t.Fatalf("TESTBED_RECOVERY_ITEMS=%q: want a positive integer", v)
		}
		s.Items = n
	}
	return s
}

// timelines are the sampled runs, by case name, for the chart drawn after them.
var timelines = struct {
	sync.Mutex
	m map[string]timeline
}{m: map[string]timeline{}}

// timeline is one run's acknowledged and delivered counts over time since the outage began.
type timeline struct {
	back    time.Duration // when the backend returned
	samples []timelineSample
}

type timelineSample struct {
	at               time.Duration
	acked, delivered int64
}

func TestRecovery(t *testing.T) {
	sc := recoveryScaleFromEnv(t)
	results.Table(tableRecovery, fmt.Sprintf("Recovery: backend unreachable for %v while %s items are buffered, then back on the same address", sc.Hold, report.Int(int64(sc.Items))),
		"drain", "first delivery after the backend's return s", "drain s", "drain items/s", "drain exporter ERROR lines per minute of outage",
		"outage WARN lines", "resumed INFO lines", "lost", "duplicates")
	for _, c := range recoveryCases {
		t.Run(c.name, func(t *testing.T) { recovery(t, c, sc) })
	}
	writeRecoveryChart(t)
}

func recovery(t *testing.T, c recoveryCase, sc recoveryScale) {
	r := newRig(t, c.v, c.tu)
	r.start()
	// A pipeline in use before the outage: the drain exporter is connected.
	warm := r.generator(loadgen.Options{TotalItems: 1000, RequestTimeout: 10 * time.Second})
	r.run(warm, time.Minute)
	r.waitDelivered(warm.Acked(), time.Minute)

	r.backend.Disconnect()
	outage := time.Now()
	logBefore := readLog(t, r.logPath)
	g := r.generator(loadgen.Options{
		FirstSeq:       1 << 40, // after the warm-up's numbers
		TotalItems:     sc.Items,
		ItemsPerSecond: float64(sc.Items) / (sc.Hold.Seconds() / 2), // buffered in the first half of the hold
		MaxAttempts:    50,
		RetryDelay:     200 * time.Millisecond,
		RequestTimeout: 10 * time.Second,
	})
	stopSampling := sampleTimeline(c.name, outage, g, r)
	r.run(g, sc.Hold+time.Minute)
	if acked := g.Stats().AckedItems; uint64(acked) != sc.Items {
		t.Fatalf("acknowledged %d of %d items while the backend was away: %s", acked, sc.Items, g.Stats().CodesString())
	}
	time.Sleep(time.Until(outage.Add(sc.Hold)))
	during := newLogLines(readLog(t, r.logPath), logBefore)

	if err := r.backend.Reconnect(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	setBack(c.name, back.Sub(outage))
	drain := r.waitDelivered(g.Acked(), 5*time.Minute+sc.Hold)
	first, ok := r.backend.FirstDeliverySinceUp()
	if !ok {
		t.Fatal("drained without a first delivery")
	}
	stopSampling()
	time.Sleep(500 * time.Millisecond) // the resumed INFO follows the first accepted request
	after := newLogLines(readLog(t, r.logPath), logBefore)
	r.stop()

	bs := r.backend.Stats()
	lost := g.Acked().Missing(r.backend.Delivered())
	errorsPerMinute := float64(bytes.Count(during, []byte("Exporting failed"))) / sc.Hold.Minutes()
	warns := bytes.Count(after, []byte("Delivery to the next consumer is failing"))
	resumed := bytes.Count(after, []byte("Delivery to the next consumer resumed"))
	t.Logf("%s: first delivery %v after the return, drain %v, exporter errors %.1f/min, WARN %d, INFO %d; backend %+v",
		c.name, first.Round(time.Millisecond), drain.Round(time.Millisecond), errorsPerMinute, warns, resumed, bs)
	addRow(t, tableRecovery, c.name, report.Seconds(first), report.Seconds(drain),
		report.Int(int64(float64(sc.Items)/max(drain.Seconds(), 0.001))), fmt.Sprintf("%.1f", errorsPerMinute),
		strconv.Itoa(warns), strconv.Itoa(resumed), report.Int(lost), report.Int(bs.Duplicates))
	noteVariant(tableRecovery, c.scenarioCase)

	if c.comet && lost != 0 {
		t.Errorf("%d acknowledged items lost", lost)
	}
	if c.promise > 0 && first > c.promise {
		t.Errorf("first delivery %v after the backend's return, promised within %v", first, c.promise)
	}
	if connect, ok := r.backend.FirstGRPCConnectSinceReconnect(); ok {
		t.Logf("%s: the drain's gRPC connection came back %v after the return; first delivery %v after it",
			c.name, connect.Round(time.Millisecond), (first - connect).Round(time.Millisecond))
		if c.afterConnect > 0 && first-connect > c.afterConnect {
			t.Errorf("first delivery %v after gRPC reconnected, promised within %v", first-connect, c.afterConnect)
		}
	} else if c.afterConnect > 0 {
		t.Errorf("no gRPC connection to the backend after its return, yet %v delivered", first)
	}
	if c.comet {
		// Two drain pipelines (traces, logs): one WARN and one INFO each, however long the hold.
		if warns != 2 || resumed != 2 {
			t.Errorf("log: %d outage WARN and %d resumed INFO lines, want 2 each (one per drain pipeline)", warns, resumed)
		}
		// One probe at a time per pipeline, at most one a second: the drain exporter's
		// per-attempt ERROR lines stay at about one a second per pipeline.
		if errorsPerMinute > 2*60*1.3 {
			t.Errorf("the drain exporter logged %.0f errors a minute during the outage: more than one probe a second per pipeline", errorsPerMinute)
		}
	}
}

// sampleTimeline records, every 100 ms until the returned stop is called, the acknowledged
// and delivered counts of a run.
func sampleTimeline(name string, since time.Time, g *loadgen.Generator, r *rig) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			record(name, timelineSample{at: time.Since(since), acked: g.Acked().Count(), delivered: r.backend.Delivered().Count()})
			select {
			case <-done:
				record(name, timelineSample{at: time.Since(since), acked: g.Acked().Count(), delivered: r.backend.Delivered().Count()})
				return
			case <-tick.C:
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

func record(name string, s timelineSample) {
	timelines.Lock()
	defer timelines.Unlock()
	tl := timelines.m[name]
	tl.samples = append(tl.samples, s)
	timelines.m[name] = tl
}

func setBack(name string, at time.Duration) {
	timelines.Lock()
	defer timelines.Unlock()
	tl := timelines.m[name]
	tl.back = at
	timelines.m[name] = tl
}

// writeRecoveryChart draws the comet (otlp_http drain) and anchor timelines on one chart in
// the results directory.
func writeRecoveryChart(t *testing.T) {
	timelines.Lock()
	defer timelines.Unlock()
	chart := plot.Chart{
		Title:  "Recovery after an outage: backlog and delivered items",
		XLabel: "seconds since the backend became unreachable",
		YLabel: "items",
	}
	colors := map[string]string{"comet_otlp_http": "#1f77b4", "file_storage_batch": "#d62728"}
	for _, name := range []string{"comet_otlp_http", "file_storage_batch"} {
		tl, ok := timelines.m[name]
		if !ok {
			continue
		}
		var delivered, backlog []plot.Point
		for _, s := range tl.samples {
			delivered = append(delivered, plot.Point{X: s.at.Seconds(), Y: float64(s.delivered)})
			backlog = append(backlog, plot.Point{X: s.at.Seconds(), Y: float64(max(s.acked-s.delivered, 0))})
		}
		chart.Series = append(chart.Series,
			plot.Series{Name: name + " delivered", Color: colors[name], Points: delivered},
			plot.Series{Name: name + " backlog", Color: colors[name], Dashed: true, Points: backlog})
		chart.Markers = append(chart.Markers, plot.Marker{X: tl.back.Seconds(), Label: "backend back"})
	}
	if len(chart.Series) == 0 {
		return
	}
	if len(chart.Markers) > 1 {
		chart.Markers = chart.Markers[:1] // both runs hold the backend away equally long
	}
	path := filepath.Join(resultsDir(), "recovery-timeline.svg")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Error(err)
		return
	}
	f, err := os.Create(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if err := chart.WriteSVG(f); err != nil {
		t.Error(err)
	}
	t.Logf("recovery timeline: %s", path)
}

func readLog(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newLogLines is what the log gained since before.
func newLogLines(now, before []byte) []byte {
	if len(now) < len(before) {
		return now
	}
	return now[len(before):]
}
