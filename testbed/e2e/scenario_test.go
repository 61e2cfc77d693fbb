// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/comet-otel/comet/testbed/internal/loadgen"
	"github.com/comet-otel/comet/testbed/internal/report"
	"github.com/comet-otel/comet/testbed/internal/seqset"
)

// scenarioCase is a variant with the tuning one scenario runs it at.
type scenarioCase struct {
	name       string
	v          variant
	tu         tuning
	durability string
}

var (
	caseComet          = scenarioCase{"comet", variantComet, tuning{Sync: "none"}, "page cache (sync none)"}
	caseCometAlways    = scenarioCase{"comet_sync_always", variantComet, tuning{Sync: "always"}, "fsync before ack (group commit)"}
	caseCometHTTP      = scenarioCase{"comet_otlp_http", variantComet, tuning{Sync: "none", Drain: "otlp_http"}, "page cache (sync none); drains over otlp_http"}
	caseCometRaw       = scenarioCase{"comet_uncompressed", variantComet, tuning{Sync: "none", Compression: "none"}, "page cache (sync none); compression none"}
	caseFileStorage    = scenarioCase{"file_storage", variantFileStorage, tuning{}, "fsync off (file_storage default)"}
	caseFileStorageB   = scenarioCase{"file_storage_batch", variantFileStorageBatch, tuning{}, "fsync off (file_storage default)"}
	caseCometStorage   = scenarioCase{"comet_storage", variantCometStorage, tuning{Sync: "none"}, "page cache (sync none)"}
	caseCometStorageFs = scenarioCase{"comet_storage_sync_always", variantCometStorage, tuning{Sync: "always"}, "fsync per operation (group commit)"}
	caseMemoryQueue    = scenarioCase{"memory_queue", variantMemoryQueue, tuning{}, "memory only"}
)

// Table keys and columns.
const (
	tableThroughput = "throughput"
	tableOutage     = "outage"
	tableCrash      = "crash"
	tableBudget     = "disk_budget"
	gridSummary     = "summary"
)

// TestScenario runs the four scenarios; each variant is a subtest, so any one runs alone, e.g.
// go test ./e2e -run 'TestScenario/outage/file_storage'.
func TestScenario(t *testing.T) {
	sc := scaleFromEnv(t)
	results.Grid(gridSummary, "Summary: one column per variant (details in the tables below)", "scenario: metric")
	t.Run("throughput", func(t *testing.T) {
		results.Table(tableThroughput, fmt.Sprintf("Throughput: %v of unthrottled OTLP/gRPC traces + logs (4 senders, 100 items per request)", sc.ThroughputDuration),
			"variant", "durability", "acked items/s", "end-to-end items/s", "drain after load s", "CPU s per M items", "peak RSS MiB", "disk at end of load MiB", "failed requests", "lost", "duplicates")
		for _, c := range []scenarioCase{caseComet, caseCometRaw, caseCometAlways, caseCometHTTP, caseFileStorage, caseFileStorageB, caseCometStorage, caseMemoryQueue} {
			t.Run(c.name, func(t *testing.T) { throughput(t, c, sc) })
		}
	})
	t.Run("outage", func(t *testing.T) {
		results.Table(tableOutage, fmt.Sprintf("Outage: backend down, %s items acknowledged, backend up", report.Int(int64(sc.OutageItems))),
			"variant", "durability", "ingest items/s", "disk while buffered MiB", "first delivery after up s", "drain s", "drain items/s", "disk after drain MiB", "peak RSS MiB", "lost", "duplicates")
		for _, c := range []scenarioCase{caseComet, caseCometRaw, caseFileStorage, caseCometStorage} {
			t.Run(c.name, func(t *testing.T) { outage(t, c, sc) })
		}
	})
	t.Run("crash", func(t *testing.T) {
		results.Table(tableCrash, fmt.Sprintf("Crash: kill -9 during load, restart, drain; %d rounds (backend up in odd rounds, down in even ones)", sc.CrashRounds),
			"variant", "durability", "rounds", "acked items", "requests failed at kill", "lost", "duplicates", "mean start-to-ready s")
		cometAlways := caseCometAlways
		cometAlways.name = "comet"
		storageAlways := caseCometStorageFs
		storageAlways.name = "comet_storage"
		for _, c := range []scenarioCase{cometAlways, caseFileStorage, storageAlways} {
			t.Run(c.name, func(t *testing.T) { crash(t, c, sc) })
		}
	})
	t.Run("disk_budget", func(t *testing.T) {
		results.Table(tableBudget, fmt.Sprintf("Disk budget: comet exporter, backend down, %s MiB retention.max_size, 2 shards, segments of 1/8 of the budget, load up to 6x the budget in OTLP bytes", report.MiB(sc.BudgetBytes)),
			"when_full", "max disk sampled MiB", "limit (budget + 1 segment) MiB", "acked items", "failed requests", "sender saw", "delivered after up", "lost", "newest 10% kept", "drop metrics")
		for _, policy := range []string{"block", "reject", "drop_oldest"} {
			t.Run(policy, func(t *testing.T) { diskBudget(t, policy, sc) })
		}
	})
}

func addRow(t *testing.T, key string, cells ...string) {
	t.Helper()
	if err := results.AddRow(key, cells...); err != nil {
		t.Error(err)
	}
}

func summary(t *testing.T, row, col, value string) {
	t.Helper()
	if err := results.SetCell(gridSummary, row, col, value); err != nil {
		t.Error(err)
	}
}

func noteVariant(key string, c scenarioCase) {
	if c.v.Note != "" {
		results.AddNote(key, c.v.Note)
	}
}

func throughput(t *testing.T, c scenarioCase, sc scale) {
	r := newRig(t, c.v, c.tu)
	r.start()
	before := r.sample()
	g := r.generator(loadgen.Options{Duration: sc.ThroughputDuration, RequestTimeout: 10 * time.Second})
	began := time.Now()
	r.run(g, sc.ThroughputDuration+2*time.Minute)
	load := time.Since(began)
	atLoadEnd := r.disk()
	drain := r.waitDelivered(g.Acked(), 2*time.Minute+10*sc.ThroughputDuration)
	total := time.Since(began)
	after := r.sample()
	r.stop()

	gs, bs := g.Stats(), r.backend.Stats()
	lost := g.Acked().Missing(r.backend.Delivered())
	if gs.AckedItems == 0 {
		t.Fatalf("nothing acknowledged: %+v", gs)
	}
	if lost != 0 {
		t.Errorf("%d acknowledged items lost", lost)
	}
	cpuPerM := (after.CPUSeconds - before.CPUSeconds) / float64(gs.AckedItems) * 1e6
	t.Logf("%s: acked %d items in %v (%s), drained %v later; CPU %.1fs; backend %+v",
		c.name, gs.AckedItems, load.Round(time.Millisecond), gs.CodesString(), drain.Round(time.Millisecond), after.CPUSeconds-before.CPUSeconds, bs)
	addRow(t, tableThroughput, c.name, c.durability,
		report.Int(int64(float64(gs.AckedItems)/load.Seconds())),
		report.Int(int64(float64(gs.AckedItems)/total.Seconds())),
		report.Seconds(drain),
		fmt.Sprintf("%.1f", cpuPerM),
		report.MiB(r.peakRSS),
		report.MiB(atLoadEnd.Allocated),
		report.Int(gs.FailedRequests),
		report.Int(lost),
		report.Int(bs.Duplicates))
	noteVariant(tableThroughput, c)
	summary(t, "throughput: acked items/s", c.name, report.Int(int64(float64(gs.AckedItems)/load.Seconds())))
	summary(t, "throughput: CPU s per M items", c.name, fmt.Sprintf("%.1f", cpuPerM))
	summary(t, "throughput: peak RSS MiB", c.name, report.MiB(r.peakRSS))
}

func outage(t *testing.T, c scenarioCase, sc scale) {
	r := newRig(t, c.v, c.tu)
	r.backend.SetUp(false)
	r.start()
	g := r.generator(loadgen.Options{
		TotalItems:     sc.OutageItems,
		MaxAttempts:    50,
		RetryDelay:     200 * time.Millisecond,
		RequestTimeout: 10 * time.Second,
	})
	began := time.Now()
	r.run(g, time.Duration(sc.OutageItems/1000)*time.Second+5*time.Minute)
	ingest := time.Since(began)
	gs := g.Stats()
	if uint64(gs.AckedItems) != sc.OutageItems {
		t.Fatalf("acknowledged %d of %d items while the backend was down; failed attempts: %s", gs.AckedItems, sc.OutageItems, gs.CodesString())
	}
	time.Sleep(time.Second) // let in-flight writes land before measuring the buffer
	buffered := r.disk()
	r.sample()

	r.backend.SetUp(true)
	drain := r.waitDelivered(g.Acked(), time.Duration(sc.OutageItems/2000)*time.Second+2*time.Minute)
	first, ok := r.backend.FirstDeliverySinceUp()
	if !ok {
		t.Fatal("drained without a first delivery")
	}
	// Space comes back when retention (or compaction) runs: give it a bounded chance, a little
	// longer than the comet exporter's default cleanup interval (30 s).
	settle := 35 * time.Second
	if testing.Short() {
		settle = 5 * time.Second
	}
	afterDrain := r.disk()
	for deadline := time.Now().Add(settle); time.Now().Before(deadline) && afterDrain.Allocated > buffered.Allocated/10; {
		time.Sleep(250 * time.Millisecond)
		afterDrain = r.disk()
	}
	r.stop()

	bs := r.backend.Stats()
	lost := g.Acked().Missing(r.backend.Delivered())
	if lost != 0 {
		t.Errorf("%d acknowledged items lost", lost)
	}
	t.Logf("%s: ingest %v, buffered %s MiB, first delivery %v, drain %v; backend %+v",
		c.name, ingest.Round(time.Millisecond), report.MiB(buffered.Allocated), first.Round(time.Millisecond), drain.Round(time.Millisecond), bs)
	addRow(t, tableOutage, c.name, c.durability,
		report.Int(int64(float64(gs.AckedItems)/ingest.Seconds())),
		report.MiB(buffered.Allocated),
		report.Seconds(first),
		report.Seconds(drain),
		report.Int(int64(float64(gs.AckedItems)/drain.Seconds())),
		report.MiB(afterDrain.Allocated),
		report.MiB(r.peakRSS),
		report.Int(lost),
		report.Int(bs.Duplicates))
	noteVariant(tableOutage, c)
	summary(t, "outage: disk while buffered MiB", c.name, report.MiB(buffered.Allocated))
	summary(t, "outage: drain items/s", c.name, report.Int(int64(float64(gs.AckedItems)/drain.Seconds())))
	summary(t, "outage: disk after drain MiB", c.name, report.MiB(afterDrain.Allocated))
	summary(t, "outage: lost", c.name, report.Int(lost))
	results.AddNote(tableOutage, fmt.Sprintf("disk after drain: allocated bytes (du) under the data directory, up to %v after the last delivery", settle))
}

func crash(t *testing.T, c scenarioCase, sc scale) {
	r := newRig(t, c.v, c.tu)
	r.start()
	g := r.generator(loadgen.Options{RequestTimeout: 5 * time.Second})
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x636f6d6574))
	failedAtKill := int64(0)
	for round := 1; round <= sc.CrashRounds; round++ {
		up := round%2 == 1
		r.backend.SetUp(up)
		var wait time.Duration
		var before int64
		func() {
			// The load stops with this function, also if the kill below fails the test.
			defer loadInBackground(t, g)()
			// Kill somewhere between a quarter of the load window and its end.
			wait = sc.CrashLoad/4 + time.Duration(rng.Int64N(int64(sc.CrashLoad*3/4)+1))
			time.Sleep(wait)
			before = g.Stats().FailedRequests
			r.kill()
		}()
		failedAtKill += g.Stats().FailedRequests - before

		r.backend.SetUp(true)
		r.start()
		r.waitDelivered(g.Acked(), 2*time.Minute)
		t.Logf("round %d (backend %s during load): killed after %v; acked so far %d, all delivered",
			round, map[bool]string{true: "up", false: "down"}[up], wait.Round(time.Millisecond), g.Acked().Count())
	}
	r.stop()

	gs, bs := g.Stats(), r.backend.Stats()
	lost := g.Acked().Missing(r.backend.Delivered())
	if lost != 0 {
		t.Errorf("%d acknowledged items lost over %d kill -9 rounds", lost, sc.CrashRounds)
	}
	if gs.AckedItems == 0 {
		t.Fatal("nothing acknowledged")
	}
	addRow(t, tableCrash, c.name, c.durability,
		fmt.Sprint(sc.CrashRounds),
		report.Int(gs.AckedItems),
		report.Int(failedAtKill),
		report.Int(lost),
		report.Int(bs.Duplicates),
		report.Seconds(r.restarts/time.Duration(max(r.starts, 1))))
	noteVariant(tableCrash, c)
	summary(t, fmt.Sprintf("crash (%d x kill -9): lost / duplicates", sc.CrashRounds), c.name,
		report.Int(lost)+" / "+report.Int(bs.Duplicates))
}

func diskBudget(t *testing.T, policy string, sc scale) {
	segment := sc.BudgetBytes / 8
	r := newRig(t, variantComet, tuning{Sync: "none", MaxSize: sc.BudgetBytes, SegmentSize: segment, WhenFull: policy, Shards: 2})
	r.backend.SetUp(false)
	r.start()

	disk := sampleDiskPeak(r, r.in.DataDir)
	defer disk.Stop()

	// An item is about 200 bytes of OTLP before compression: ask for six budgets' worth, so
	// that even well-compressed data overflows the budget.
	g := r.generator(loadgen.Options{
		TotalItems:     uint64(6 * sc.BudgetBytes / 200),
		Duration:       sc.BudgetLoad,
		RequestTimeout: time.Second,
	})
	r.run(g, sc.BudgetLoad+time.Minute)
	time.Sleep(500 * time.Millisecond)
	disk.Stop()
	maxDisk, maxDeleted, samples := disk.Peak()
	m := r.metrics()

	r.backend.SetUp(true)
	if policy == "drop_oldest" {
		r.waitQuiet(2*time.Second, 2*time.Minute)
	} else {
		r.waitDelivered(g.Acked(), 2*time.Minute)
	}
	r.stop()

	gs, bs := g.Stats(), r.backend.Stats()
	acked, delivered := g.Acked(), r.backend.Delivered()
	lost := acked.Missing(delivered)
	newestKept := newestDelivered(acked, delivered, 0.10)
	limit := sc.BudgetBytes + segment
	t.Logf("%s: max disk %d bytes (%d of them in deleted files still open) over %d samples (limit %d); %+v; backend %+v",
		policy, maxDisk, maxDeleted, samples, limit, gs, bs)

	if maxDisk > limit {
		t.Errorf("disk reached %d bytes (%d in deleted files the collector still holds open), above budget %d + one segment %d",
			maxDisk, maxDeleted, sc.BudgetBytes, segment)
	}
	saw := gs.CodesString()
	dropped, hasDropMetric := m["otelcol_comet_log_dropped_records"]
	if !hasDropMetric {
		t.Errorf("the collector exports no otelcol_comet_log_dropped_records")
	}
	if policy != "drop_oldest" && dropped != 0 {
		t.Errorf("%s: %v records counted as dropped", policy, dropped)
	}
	switch policy {
	case "block":
		if gs.Codes["DeadlineExceeded"] == 0 {
			t.Errorf("block: the sender saw no back-pressure (timeouts); codes: %s", saw)
		}
		if lost != 0 {
			t.Errorf("block: %d acknowledged items lost", lost)
		}
	case "reject":
		if gs.FailedRequests == 0 {
			t.Errorf("reject: the sender saw no errors once the budget was reached")
		}
		if lost != 0 {
			t.Errorf("reject: %d acknowledged items lost", lost)
		}
	case "drop_oldest":
		if gs.FailedRequests != 0 {
			t.Errorf("drop_oldest: %d requests failed; the policy never refuses (codes: %s)", gs.FailedRequests, saw)
		}
		if lost == 0 {
			t.Errorf("drop_oldest: nothing was lost although %d items were sent into a %d-byte budget", gs.AckedItems, sc.BudgetBytes)
		}
		if hasDropMetric && dropped == 0 {
			t.Errorf("drop_oldest: the exporter counted no dropped records")
		}
		if !newestKept {
			t.Errorf("drop_oldest: some of the newest 10%% of acknowledged items were not delivered")
		}
	}
	if saw == "" {
		saw = "no errors"
	}
	addRow(t, tableBudget, policy,
		fmt.Sprintf("%s (%s deleted, still open)", report.MiB(maxDisk), report.MiB(maxDeleted)),
		report.MiB(limit),
		report.Int(gs.AckedItems),
		report.Int(gs.FailedRequests),
		saw,
		report.Int(bs.Delivered),
		report.Int(lost),
		fmt.Sprint(newestKept),
		dropMetrics(m))
	results.AddNote(tableBudget, "max disk: largest sum of the file sizes in the data directory and of deleted files the collector still holds open there, sampled every 20 ms during the load; lost = acknowledged but never delivered (for drop_oldest: the dropped items)")
}

// newestDelivered reports whether the newest fraction of acknowledged items (by sequence
// number, which follows send order) all reached the backend.
func newestDelivered(acked, delivered *seqset.Set, fraction float64) bool {
	n := acked.Count()
	skip := n - int64(float64(n)*fraction)
	ok := true
	var i int64
	acked.Each(func(seq uint64) bool {
		i++
		if i > skip && !delivered.Has(seq) {
			ok = false
			return false
		}
		return true
	})
	return ok
}

// dropMetrics renders the collector's own metrics that count dropped data, for the table.
func dropMetrics(m map[string]float64) string {
	var names []string
	for name := range m {
		lower := strings.ToLower(name)
		if strings.Contains(lower, "comet") && (strings.Contains(lower, "drop") || strings.Contains(lower, "discard")) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "none exported"
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s=%s", n, report.Int(int64(m[n]))))
	}
	return strings.Join(parts, " ")
}
