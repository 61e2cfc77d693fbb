// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"text/template"
	"time"

	"github.com/comet-otel/comet/testbed/internal/blockdev"
	"github.com/comet-otel/comet/testbed/internal/loadgen"
	"github.com/comet-otel/comet/testbed/internal/report"
)

// Power loss on real filesystems (testbed README, "Power loss"): the collector runs with its
// data directory on ext4 or xfs on a RAM-backed loop device while background writeback is held
// off; at a random moment under load it is frozen (SIGSTOP), the device's backing file is
// copied (the cut: only what reached the device), the collector is killed, and the copy is
// mounted (journal replay) and drained by a fresh collector. Delivered items are compared
// with what the sender saw acknowledged.

const tablePowerLoss = "power_loss"

// powerLossImageSize is the size of each filesystem image: sparse, so it costs RAM only for
// what is written; xfs needs at least 300 MiB.
const powerLossImageSize = 512 << 20

// powerLossScale sizes the suite. The short variant runs by default (and in CI); the full one
// with TESTBED_POWERLOSS=full.
type powerLossScale struct {
	Rounds  int           // rounds per mode and filesystem (TESTBED_POWERLOSS_ROUNDS)
	MinLoad time.Duration // the cut falls uniformly between MinLoad and MaxLoad into the load
	MaxLoad time.Duration
	Rate    float64 // items/s offered (4 senders, 100 items per request)
	Variant string  // "short" or "full", for the table title
}

func powerLossScaleFromEnv(t *testing.T) powerLossScale {
	t.Helper()
	// The earliest cut must come well after one sync interval (1 s), so that an interval
	// mode that did not sync at all would show losses older than its window.
	s := powerLossScale{Rounds: 2, MinLoad: 2500 * time.Millisecond, MaxLoad: 3500 * time.Millisecond, Rate: 20_000, Variant: "short"}
	switch v := os.Getenv("TESTBED_POWERLOSS"); v {
	case "", "short":
	case "full":
		s = powerLossScale{Rounds: 10, MinLoad: 2500 * time.Millisecond, MaxLoad: 8 * time.Second, Rate: 100_000, Variant: "full"}
	default:
		t.Fatalf("TESTBED_POWERLOSS=%q: want short or full", v)
	}
	if v := os.Getenv("TESTBED_POWERLOSS_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("TESTBED_POWERLOSS_ROUNDS=%q: want a positive integer", v)
		}
		s.Rounds = n
	}
	return s
}

// powerLossCase is one durability setting of one path.
type powerLossCase struct {
	path string // table row group: comet, comet_storage, file_storage
	mode string // none, interval, always; fsync_off, fsync_on
	v    variant
	tu   tuning
	// ours: a comet component; the expectations below are asserted, not only reported.
	ours bool
	// window is the loss window the component README states for the mode: an item lost to the
	// cut must have been sent less than window before it. 0: no bound stated.
	window time.Duration
	// lossless: nothing acknowledged may be lost (sync always).
	lossless bool
	// pending is the collector metric that reads 0 once nothing is left to deliver.
	pending string
}

const fileStorageFsyncExt = `
  file_storage:
    directory: {{.DataDir}}/queue
    create_directory: true
    fsync: true
`

var variantFileStorageFsync = variant{
	Name:  "file_storage",
	Needs: []string{"extension/file_storage"},
	Note:  "file_storage fsync_on: the same queue with `fsync: true` (bbolt syncs every transaction)",
	tmpl: template.Must(template.New("file_storage_fsync").Parse(
		head(fileStorageFsyncExt, "") + queueExporterFor("file_storage") +
			"\nservice:\n  extensions: [health_check, file_storage]" + queuePipelines + commonTelemetry)),
}

// syncInterval is the sync::interval of the interval cases (the components' default).
const syncInterval = time.Second

// lossSlack is added to a stated loss window: the time an fsync round takes and the delay
// between a request being numbered and its append, both short on a RAM-backed device.
const lossSlack = 500 * time.Millisecond

func powerLossCases() []powerLossCase {
	const lag, queue = "otelcol_comet_receiver_lag", "otelcol_exporter_queue_size"
	window := syncInterval + lossSlack
	return []powerLossCase{
		{path: "comet", mode: "none", v: variantComet, tu: tuning{Sync: "none"}, ours: true, pending: lag},
		{path: "comet", mode: "interval", v: variantComet, tu: tuning{Sync: "interval"}, ours: true, window: window, pending: lag},
		{path: "comet", mode: "always", v: variantComet, tu: tuning{Sync: "always"}, ours: true, lossless: true, pending: lag},
		{path: "comet_storage", mode: "none", v: variantCometStorage, tu: tuning{Sync: "none"}, ours: true, pending: queue},
		{path: "comet_storage", mode: "interval", v: variantCometStorage, tu: tuning{Sync: "interval"}, ours: true, window: window, pending: queue},
		{path: "comet_storage", mode: "always", v: variantCometStorage, tu: tuning{Sync: "always"}, ours: true, lossless: true, pending: queue},
		{path: "file_storage", mode: "fsync_off", v: variantFileStorage, pending: queue},
		{path: "file_storage", mode: "fsync_on", v: variantFileStorageFsync, pending: queue},
	}
}

// TestPowerLoss runs every case on ext4 and on xfs, e.g.
// go test ./e2e -run 'TestPowerLoss/xfs/comet/always'.
func TestPowerLoss(t *testing.T) {
	if reason := blockdev.Unavailable(); reason != "" {
		t.Skipf("skipped: the power-loss suite %s", reason)
	}
	sc := powerLossScaleFromEnv(t)
	hold, err := blockdev.HoldWriteback(10 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := hold.Release(); err != nil {
			t.Errorf("restore the kernel's writeback settings: %v", err)
		}
	})
	results.Table(tablePowerLoss, fmt.Sprintf("Power loss (%s): %d cuts per mode and filesystem at a random moment %v–%v into a load of %s items/s, backend up during the load in odd rounds and down in even ones",
		sc.Variant, sc.Rounds, sc.MinLoad, sc.MaxLoad, report.Int(int64(sc.Rate))),
		"filesystem", "path", "sync", "rounds", "acked", "lost", "duplicates", "oldest lost item s before the cut", "recovery warnings", "restarted", "garbage delivered")
	for _, fs := range []string{blockdev.Ext4, blockdev.XFS} {
		t.Run(fs, func(t *testing.T) {
			requireLoopFS(t, fs)
			for _, c := range powerLossCases() {
				t.Run(c.path+"/"+c.mode, func(t *testing.T) { powerLoss(t, fs, c, sc) })
			}
		})
	}
	results.AddNote(tablePowerLoss, "lost = acknowledged to the sender before the cut and never delivered after it; oldest lost item = how long before the cut the oldest lost item was first sent (bounded by the stated loss window for interval: 1 s sync::interval + 0.5 s slack)")
	results.AddNote(tablePowerLoss, "recovery warnings: lines the draining collector logged: torn = torn segment tails truncated, damaged = damaged or undecodable records skipped, offsets = consumer offsets clamped or rewound to the recovered log, index = segment indexes rebuilt, other = any other warning or error (up to the shutdown)")
	results.AddNote(tablePowerLoss, "garbage = delivered items without a sequence number or with one the sender never issued")
}

// powerLossTotals accumulates the rounds of one case.
type powerLossTotals struct {
	acked, lost, dups, garbage int64
	restarted                  int
	oldestLoss                 time.Duration
	warnings                   recoveryWarnings
}

func powerLoss(t *testing.T, fs string, c powerLossCase, sc powerLossScale) {
	work := ramWorkDir(t)
	mnt := t.TempDir()
	r := newRigOn(t, c.v, c.tu, filepath.Join(mnt, "data"))
	g := r.generator(loadgen.Options{ItemsPerSecond: sc.Rate, RequestTimeout: 5 * time.Second})
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x706f776572))
	var tot powerLossTotals
	for round := 1; round <= sc.Rounds; round++ {
		res := powerLossRound(t, r, g, roundSetup{
			fs: fs, work: work, mnt: mnt, round: round, backendUp: round%2 == 1,
			cutAfter: sc.MinLoad + time.Duration(rng.Int64N(int64(sc.MaxLoad-sc.MinLoad)+1)),
			pending:  c.pending,
		})
		t.Logf("round %d: %s", round, res)
		tot.acked += res.acked
		tot.lost += res.lost
		tot.dups += res.dups
		tot.garbage += res.garbage
		tot.oldestLoss = max(tot.oldestLoss, res.oldestLoss)
		tot.warnings.add(res.warnings)
		if res.restartErr == nil {
			tot.restarted++
		}
		checkPowerLossRound(t, c, round, res)
		if t.Failed() {
			break // the log of the failing round is the evidence: do not bury it
		}
	}
	oldest := "–"
	if tot.lost > 0 {
		oldest = report.Seconds(tot.oldestLoss)
	}
	addRow(t, tablePowerLoss, fs, c.path, c.mode,
		fmt.Sprint(sc.Rounds),
		report.Int(tot.acked),
		report.Int(tot.lost),
		report.Int(tot.dups),
		oldest,
		tot.warnings.counts(),
		fmt.Sprintf("%d/%d", tot.restarted, sc.Rounds),
		report.Int(tot.garbage))
	noteVariant(tablePowerLoss, scenarioCase{v: c.v})
}

// checkPowerLossRound asserts what the README promises for the mode (comet components only;
// file_storage is reported, not judged).
func checkPowerLossRound(t *testing.T, c powerLossCase, round int, res roundResult) {
	t.Helper()
	if !c.ours {
		return
	}
	if res.restartErr != nil {
		t.Errorf("round %d: the collector did not come back after the cut: %v", round, res.restartErr)
	}
	if res.stopErr != nil {
		t.Errorf("round %d: the draining collector did not stop cleanly: %v", round, res.stopErr)
	}
	if res.garbage != 0 {
		t.Errorf("round %d: %d garbage items delivered (without a sequence number or with one never issued)", round, res.garbage)
	}
	if c.lossless && res.lost != 0 {
		t.Errorf("round %d: sync %s lost %d acknowledged items (first: %v)", round, c.mode, res.lost, res.lostSample)
	}
	if c.window > 0 && res.lost > 0 && res.oldestLoss > c.window {
		t.Errorf("round %d: sync %s lost an item first sent %v before the cut, beyond the stated window of %v (items: %v)",
			round, c.mode, res.oldestLoss.Round(time.Millisecond), c.window, res.lostSample)
	}
}
