// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/comet-otel/comet/testbed/internal/blockdev"
	"github.com/comet-otel/comet/testbed/internal/collector"
	"github.com/comet-otel/comet/testbed/internal/loadgen"
	"github.com/comet-otel/comet/testbed/internal/seqset"
)

// roundSetup is one power-loss round.
type roundSetup struct {
	fs, work, mnt string
	round         int
	backendUp     bool          // during the load; it is always up for the drain
	cutAfter      time.Duration // how long into the load the cut falls
	pending       string        // metric that reads 0 once the collector has nothing left
}

// roundResult is what one cut cost.
type roundResult struct {
	acked, lost, dups, garbage int64
	lostSample                 []uint64
	oldestLoss                 time.Duration // how long before the cut the oldest lost item was first sent
	snapshot                   blockdev.SnapshotInfo
	restartErr, stopErr        error
	warnings                   recoveryWarnings
	drain                      time.Duration
}

func (r roundResult) String() string {
	restart := "restarted"
	if r.restartErr != nil {
		restart = "DID NOT RESTART: " + r.restartErr.Error()
	}
	return fmt.Sprintf("acked %d, lost %d (oldest %v before the cut), duplicates %d, garbage %d; cut %d KiB in %v (%d attempts); %s, drained in %v; recovery: %s",
		r.acked, r.lost, r.oldestLoss.Round(time.Millisecond), r.dups, r.garbage,
		r.snapshot.Bytes>>10, r.snapshot.Took.Round(time.Millisecond), r.snapshot.Attempts,
		restart, r.drain.Round(time.Millisecond), r.warnings)
}

// drainTimeout bounds the drain after a cut.
const drainTimeout = 2 * time.Minute

// powerLossRound makes a fresh filesystem, runs the collector on it under load, cuts, and
// drains the cut with a fresh collector.
func powerLossRound(t *testing.T, r *rig, g *loadgen.Generator, s roundSetup) roundResult {
	t.Helper()
	im, err := blockdev.Create(ramImagePath(s.work, fmt.Sprintf("round%d", s.round)), s.fs, powerLossImageSize)
	if err != nil {
		t.Fatal(err)
	}
	closeImageAtCleanup(t, im, r)
	mountImage(t, im, s.mnt)
	if err := os.MkdirAll(r.in.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	r.backend.SetUp(s.backendUp)
	r.start()

	ackedBefore, missingBefore := g.Acked().Count(), g.Acked().Missing(r.backend.Delivered())
	issuedBefore, before := g.Issued(), r.backend.Stats()

	cutPath := ramImagePath(s.work, fmt.Sprintf("round%d-cut", s.round))
	var res roundResult
	cutAt := loadAndCut(t, r, g, s.cutAfter, func() {
		if res.snapshot, err = im.Snapshot(cutPath); err != nil {
			t.Fatal(err)
		}
	})
	// The original filesystem goes; only the cut remains.
	if err := im.Close(); err != nil {
		t.Fatal(err)
	}
	cut := blockdev.Open(cutPath, s.fs)
	closeImageAtCleanup(t, cut, r)
	if err := cut.Attach(); err != nil {
		t.Fatal(err)
	}

	r.backend.SetUp(true)
	logFrom := r.logSize()
	if res.restartErr = cut.Mount(s.mnt, ""); res.restartErr == nil {
		began := time.Now()
		if res.restartErr = r.tryStart(); res.restartErr == nil {
			if err := r.drainAfterCut(g.Acked(), s.pending, drainTimeout); err != nil {
				t.Error(err)
			}
			res.drain = time.Since(began)
			res.stopErr = r.proc.Stop(stopTimeout)
		}
	}
	res.warnings = classifyRecovery(r.logLinesSince(logFrom))
	if err := cut.Close(); err != nil {
		t.Fatal(err)
	}

	after := r.backend.Stats()
	res.acked = g.Acked().Count() - ackedBefore
	res.lost = g.Acked().Missing(r.backend.Delivered()) - missingBefore
	res.dups = after.Duplicates - before.Duplicates
	res.garbage = after.Unnumbered - before.Unnumbered + deliveredBeyond(r.backend.Delivered(), g.Issued())
	res.lostSample, res.oldestLoss = lostInRound(g, r.backend.Delivered(), issuedBefore, cutAt)
	return res
}

// loadAndCut runs the load, and cutAfter into it freezes the collector, calls cut, and kills
// the collector. It returns the moment of the cut and the timeline of numbers handed out.
func loadAndCut(t *testing.T, r *rig, g *loadgen.Generator, cutAfter time.Duration, cut func()) cutMoment {
	t.Helper()
	tl := newIssueTimeline(g)
	defer loadInBackground(t, g)()
	time.Sleep(cutAfter)
	if err := r.proc.Freeze(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	samples := tl.stop()
	cut()
	r.kill()
	return cutMoment{at: at, issued: samples}
}

// cutMoment is when the cut fell, with the numbers handed out until then.
type cutMoment struct {
	at     time.Time
	issued []issueSample
}

// issueSample says that at time at, numbers below issued had been handed out.
type issueSample struct {
	at     time.Time
	issued uint64
}

// issueTimeline samples the generator's issued count every few milliseconds: a number first
// issued after sample i was sent no earlier than sample i's time, which dates lost items.
type issueTimeline struct {
	done    chan struct{}
	wg      sync.WaitGroup
	samples []issueSample
}

func newIssueTimeline(g *loadgen.Generator) *issueTimeline {
	tl := &issueTimeline{done: make(chan struct{})}
	tl.samples = append(tl.samples, issueSample{time.Now(), g.Issued()})
	tl.wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tl.done:
				return
			case <-tick.C:
				tl.samples = append(tl.samples, issueSample{time.Now(), g.Issued()})
			}
		}
	})
	return tl
}

func (tl *issueTimeline) stop() []issueSample {
	close(tl.done)
	tl.wg.Wait()
	return tl.samples
}

// sentNoEarlierThan returns the latest sample time at which seq had not been handed out yet:
// the item was sent after it.
func (c cutMoment) sentNoEarlierThan(seq uint64) time.Time {
	i := sort.Search(len(c.issued), func(i int) bool { return c.issued[i].issued > seq })
	if i == 0 {
		return c.issued[0].at
	}
	return c.issued[i-1].at
}

// lostInRound returns up to 5 lost items of the round (numbers issued from issuedBefore on)
// and how long before the cut the oldest lost item was first sent.
func lostInRound(g *loadgen.Generator, delivered *seqset.Set, issuedBefore uint64, cut cutMoment) (sample []uint64, oldest time.Duration) {
	g.Acked().Each(func(seq uint64) bool {
		if seq < issuedBefore || delivered.Has(seq) {
			return true
		}
		if len(sample) < 5 {
			sample = append(sample, seq)
		}
		oldest = max(oldest, cut.at.Sub(cut.sentNoEarlierThan(seq)))
		return true
	})
	return sample, oldest
}

// deliveredBeyond counts delivered numbers the sender never issued.
func deliveredBeyond(delivered *seqset.Set, issued uint64) int64 {
	var n int64
	delivered.Each(func(seq uint64) bool {
		if seq >= issued {
			n++
		}
		return true
	})
	return n
}

// drainAfterCut waits until the collector has nothing left to deliver (its pending metric
// reads 0) and either every acknowledged item was delivered or, when some were lost, the
// backend has received nothing for a few seconds. Waiting for the pending metric also when
// nothing is missing lets the redeliveries (duplicates) finish. It fails past timeout or if
// the collector exits.
func (r *rig) drainAfterCut(acked *seqset.Set, pending string, timeout time.Duration) error {
	const quiet = 2 * time.Second
	deadline := time.Now().Add(timeout)
	delivered := r.backend.Delivered()
	var cursor uint64
	last, lastChange := int64(-1), time.Now()
	for {
		seq, missing := acked.FirstMissing(delivered, cursor)
		cursor = seq
		if r.proc.Exited() {
			return fmt.Errorf("collector exited while draining: %v", r.proc.ExitErr())
		}
		st := r.backend.Stats()
		if n := st.Delivered + st.Duplicates; n != last {
			last, lastChange = n, time.Now()
		}
		if !missing || time.Since(lastChange) >= quiet {
			m, err := collector.ScrapeMetrics(context.Background(), fmt.Sprintf("http://127.0.0.1:%d/metrics", r.in.MetricsPort))
			if err == nil && m[pending] == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("drain after the cut not finished after %v: %d acknowledged items missing and the collector still reports %s pending",
				timeout, acked.Missing(delivered), pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// recoveryWarnings counts what the draining collector logged about the state it found.
type recoveryWarnings struct {
	torn, damaged, offsets, index, other int
	firstOther                           string
}

// recoveryPatterns classify warning and error lines by a phrase of their message.
var recoveryPatterns = []struct {
	phrase string
	kind   func(*recoveryWarnings) *int
}{
	{"Truncating torn tail", func(w *recoveryWarnings) *int { return &w.torn }},
	{"Skipping damaged record", func(w *recoveryWarnings) *int { return &w.damaged }},
	{"Damaged record of unknown length", func(w *recoveryWarnings) *int { return &w.damaged }},
	{"not a valid operation list", func(w *recoveryWarnings) *int { return &w.damaged }},
	{"not OTLP protobuf", func(w *recoveryWarnings) *int { return &w.damaged }},
	{"Failed unmarshalling item", func(w *recoveryWarnings) *int { return &w.damaged }},
	{"Rebuilding segment index", func(w *recoveryWarnings) *int { return &w.index }},
	{"Consumer offset is past the end", func(w *recoveryWarnings) *int { return &w.offsets }},
	{"Consumer offset file is damaged", func(w *recoveryWarnings) *int { return &w.offsets }},
	{"Rewinding a consumer group", func(w *recoveryWarnings) *int { return &w.offsets }},
}

// recoverySummaries are lines that sum up warnings already counted one by one.
var recoverySummaries = []string{"Recovered from damaged records"}

// shutdownStarts marks the start of a graceful shutdown in the collector log: what follows
// (requests cancelled by the shutdown) is not about recovery.
const shutdownStarts = "Starting shutdown"

// classifyRecovery counts the warning and error lines of a collector's log up to its shutdown.
func classifyRecovery(lines []string) recoveryWarnings {
	var w recoveryWarnings
lines:
	for _, line := range lines {
		if strings.Contains(line, shutdownStarts) {
			break
		}
		if lvl := logLevel(line); lvl != "warn" && lvl != "error" {
			continue
		}
		for _, s := range recoverySummaries {
			if strings.Contains(line, s) {
				continue lines
			}
		}
		for _, p := range recoveryPatterns {
			if strings.Contains(line, p.phrase) {
				*p.kind(&w)++
				continue lines
			}
		}
		w.other++
		if w.firstOther == "" {
			w.firstOther = line
		}
	}
	return w
}

func (w *recoveryWarnings) add(o recoveryWarnings) {
	w.torn += o.torn
	w.damaged += o.damaged
	w.offsets += o.offsets
	w.index += o.index
	w.other += o.other
	if w.firstOther == "" {
		w.firstOther = o.firstOther
	}
}

// counts is the table cell: the count of each kind.
func (w recoveryWarnings) counts() string {
	return fmt.Sprintf("torn %d, damaged %d, offsets %d, index %d, other %d", w.torn, w.damaged, w.offsets, w.index, w.other)
}

func (w recoveryWarnings) String() string {
	s := w.counts()
	if w.firstOther != "" {
		s += " (first other: " + trimLogLine(w.firstOther) + ")"
	}
	return s
}

// trimLogLine keeps the level and message of a console log line.
func trimLogLine(line string) string {
	parts := strings.Split(line, "\t")
	if len(parts) >= 4 {
		return parts[1] + " " + parts[3]
	}
	return line
}
