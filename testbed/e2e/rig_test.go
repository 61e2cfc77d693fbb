// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/comet-otel/comet/testbed/internal/collector"
	"github.com/comet-otel/comet/testbed/internal/loadgen"
	"github.com/comet-otel/comet/testbed/internal/mockbackend"
	"github.com/comet-otel/comet/testbed/internal/seqset"
)

const (
	readyTimeout = 60 * time.Second
	stopTimeout  = 60 * time.Second
)

// scale sizes the scenarios: full by default, small under -short, each overridable.
type scale struct {
	ThroughputDuration time.Duration // TESTBED_DURATION (Go duration or seconds)
	OutageItems        uint64        // TESTBED_OUTAGE_ITEMS
	CrashRounds        int           // TESTBED_CRASH_ROUNDS
	CrashLoad          time.Duration // TESTBED_CRASH_LOAD: longest load before a kill -9
	BudgetBytes        int64         // TESTBED_BUDGET_MIB
	BudgetLoad         time.Duration // how long the disk-budget load runs at most
}

func scaleFromEnv(t *testing.T) scale {
	t.Helper()
	s := scale{
		ThroughputDuration: 30 * time.Second,
		OutageItems:        1_000_000,
		CrashRounds:        10,
		CrashLoad:          2 * time.Second,
		BudgetBytes:        64 << 20,
		BudgetLoad:         20 * time.Second,
	}
	if testing.Short() {
		s = scale{
			ThroughputDuration: 5 * time.Second,
			OutageItems:        50_000,
			CrashRounds:        10,
			CrashLoad:          time.Second,
			BudgetBytes:        8 << 20,
			BudgetLoad:         6 * time.Second,
		}
	}
	if v := os.Getenv("TESTBED_DURATION"); v != "" {
		s.ThroughputDuration = parseDuration(t, "TESTBED_DURATION", v)
	}
	if v := os.Getenv("TESTBED_OUTAGE_ITEMS"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			t.Fatalf("TESTBED_OUTAGE_ITEMS=%q: want a positive integer", v)
		}
		s.OutageItems = n
	}
	if v := os.Getenv("TESTBED_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("TESTBED_CRASH_ROUNDS=%q: want a positive integer", v)
		}
		s.CrashRounds = n
	}
	if v := os.Getenv("TESTBED_CRASH_LOAD"); v != "" {
		s.CrashLoad = parseDuration(t, "TESTBED_CRASH_LOAD", v)
	}
	if v := os.Getenv("TESTBED_BUDGET_MIB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			t.Fatalf("TESTBED_BUDGET_MIB=%q: want a positive integer", v)
		}
		s.BudgetBytes = n << 20
	}
	return s
}

func parseDuration(t *testing.T, name, v string) time.Duration {
	t.Helper()
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 {
		return time.Duration(secs * float64(time.Second))
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 30s", name, v)
	}
	return d
}

// rig is one collector under test with its mock backend. Its collector can be stopped,
// killed and started again on the same ports and data directory.
type rig struct {
	t        *testing.T
	bin      string
	variant  variant
	backend  *mockbackend.Backend
	in       instance
	cfgPath  string
	logPath  string
	proc     *collector.Process
	peakRSS  int64         // highest VmHWM over every process of this rig
	restarts time.Duration // summed time from start to ready over all starts
	starts   int
}

func newRig(t *testing.T, v variant, tu tuning) *rig {
	t.Helper()
	requireComponents(t, v.Needs)
	bin := collectorBinary(t)
	backend := startBackend(t)
	ports, err := collector.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := &rig{
		t:       t,
		bin:     bin,
		variant: v,
		backend: backend,
		in: instance{
			OTLPPort: ports[0], HealthPort: ports[1], MetricsPort: ports[2],
			DataDir:     filepath.Join(dir, "data"),
			BackendGRPC: backend.GRPCEndpoint(),
			BackendHTTP: backend.HTTPEndpoint(),
		},
		cfgPath: filepath.Join(dir, "config.yaml"),
	}
	if err := os.MkdirAll(r.in.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg, err := v.render(r.in, tu)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	logDir := filepath.Join(resultsDir(), "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.logPath = filepath.Join(logDir, strings.ReplaceAll(t.Name(), "/", "_")+".log")
	if err := os.WriteFile(r.logPath, append([]byte("# config\n"), cfg...), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if r.proc != nil && !r.proc.Exited() {
			if err := r.proc.Kill(); err != nil {
				t.Errorf("cleanup kill: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("collector log: %s", r.logPath)
		}
	})
	return r
}

// start launches the collector and waits until its health check reports ready.
func (r *rig) start() {
	r.t.Helper()
	if r.proc != nil && !r.proc.Exited() {
		r.t.Fatal("rig: start while the collector runs")
	}
	began := time.Now()
	p, err := collector.Start(collector.Command{Bin: r.bin, Args: []string{"--config", r.cfgPath}, LogPath: r.logPath})
	if err != nil {
		r.t.Fatal(err)
	}
	r.proc = p
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := p.WaitHTTPOK(ctx, fmt.Sprintf("http://127.0.0.1:%d/", r.in.HealthPort)); err != nil {
		r.t.Fatal(err)
	}
	r.restarts += time.Since(began)
	r.starts++
}

// sample reads CPU and memory of the running collector and folds its peak RSS in.
func (r *rig) sample() collector.Usage {
	r.t.Helper()
	u, err := r.proc.Sample()
	if err != nil {
		r.t.Fatalf("sample collector: %v", err)
	}
	r.peakRSS = max(r.peakRSS, u.PeakRSS)
	return u
}

// stop shuts the collector down gracefully and fails the test if it does not exit cleanly.
func (r *rig) stop() {
	r.t.Helper()
	r.sample()
	if err := r.proc.Stop(stopTimeout); err != nil {
		r.t.Fatal(err)
	}
}

// kill sends SIGKILL after folding in a last sample.
func (r *rig) kill() {
	r.t.Helper()
	if u, err := r.proc.Sample(); err == nil {
		r.peakRSS = max(r.peakRSS, u.PeakRSS)
	}
	if err := r.proc.Kill(); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) disk() collector.DiskUsage {
	r.t.Helper()
	u, err := collector.DirUsage(r.in.DataDir)
	if err != nil {
		r.t.Fatalf("disk usage: %v", err)
	}
	return u
}

func (r *rig) generator(opts loadgen.Options) *loadgen.Generator {
	r.t.Helper()
	opts.Endpoint = fmt.Sprintf("127.0.0.1:%d", r.in.OTLPPort)
	g, err := loadgen.New(opts)
	if err != nil {
		r.t.Fatal(err)
	}
	return g
}

func (r *rig) run(g *loadgen.Generator, limit time.Duration) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if err := g.Run(ctx); err != nil {
		r.t.Fatal(err)
	}
}

// waitDelivered waits until every acknowledged item reached the backend and returns how long
// that took. It fails the test past timeout, naming the first missing numbers.
func (r *rig) waitDelivered(acked *seqset.Set, timeout time.Duration) time.Duration {
	r.t.Helper()
	return waitDelivered(r.t, acked, r.backend, timeout, r.proc)
}

// waitDelivered waits until backend received every number in acked, failing the test past
// timeout or when one of procs exits.
func waitDelivered(t *testing.T, acked *seqset.Set, backend *mockbackend.Backend, timeout time.Duration, procs ...*collector.Process) time.Duration {
	t.Helper()
	began := time.Now()
	deadline := began.Add(timeout)
	delivered := backend.Delivered()
	var cursor uint64
	for {
		seq, missing := acked.FirstMissing(delivered, cursor)
		if !missing {
			return time.Since(began)
		}
		cursor = seq
		for _, p := range procs {
			if p != nil && p.Exited() {
				t.Fatalf("collector exited while draining: %v", p.ExitErr())
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged items not delivered after %v (first missing: %v); backend %+v",
				acked.Missing(delivered), acked.Count(), timeout, acked.MissingSample(delivered, 5), backend.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitQuiet waits until the backend accepted nothing for quiet, bounded by timeout.
func (r *rig) waitQuiet(quiet, timeout time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		last := r.backend.LastAccepted()
		if !last.IsZero() && time.Since(last) >= quiet {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("backend still receiving after %v", timeout)
}

// metrics scrapes the collector's own telemetry.
func (r *rig) metrics() map[string]float64 {
	r.t.Helper()
	m, err := collector.ScrapeMetrics(context.Background(), fmt.Sprintf("http://127.0.0.1:%d/metrics", r.in.MetricsPort))
	if err != nil {
		r.t.Fatalf("metrics: %v", err)
	}
	return m
}

// loadInBackground runs g until the returned function is called (it waits for the load to end).
func loadInBackground(t *testing.T, g *loadgen.Generator) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(stop)
	return stop
}
