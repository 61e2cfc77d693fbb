// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/health"
)

const (
	// defaultSummaryEvery is how often an ongoing outage is summarised in
	// the log.
	defaultSummaryEvery = time.Minute
	// followUpWindow and followUpQuiet keep a flapping backend from
	// flooding the log: an outage that starts within followUpWindow of the
	// previous one's end is logged only once it has lasted followUpQuiet;
	// shorter ones are counted and reported with the next log line.
	followUpWindow = time.Minute
	followUpQuiet  = 5 * time.Second
	// readRecovered is how long reads must go without a failure before
	// the status is OK again.
	readRecovered = 3 * readRetryDelay
)

// outageReporter tells the operator about outages of the next consumer:
// one WARN when delivery starts failing, a summary every summaryEvery
// while it lasts, one INFO when it resumes (brief interruptions of a
// flapping backend are counted instead, see followUpWindow); and the
// component status for the health check: a recoverable error while the
// next consumer refuses, an error while the log cannot be read (permanent
// when the directory cannot be used without an operator), OK once both
// work again.
type outageReporter struct {
	r            *cometReceiver
	health       health.Reporter
	summaryEvery time.Duration

	lastReadFailure atomic.Int64 // Unix nanoseconds; 0 once reads work again
	down            atomic.Bool  // an outage of the next consumer is going on

	mu          sync.Mutex
	logged      bool      // the current outage has been logged
	lastSummary time.Time // of the current outage
	lastEnd     time.Time // of the previous outage
	brief       int       // brief interruptions not logged yet
}

func (o *outageReporter) outageStarted(out outage) {
	o.mu.Lock()
	followUp := !o.lastEnd.IsZero() && time.Since(o.lastEnd) < followUpWindow
	o.logged = !followUp
	o.lastSummary = time.Now()
	o.mu.Unlock()
	if !followUp {
		o.logStart(out)
	}
	o.down.Store(true)
	o.health.Recoverable(out.lastErr)
}

func (o *outageReporter) outageContinues(out outage) {
	o.mu.Lock()
	start := !o.logged && time.Since(out.since) >= followUpQuiet
	summary := o.logged && time.Since(o.lastSummary) >= o.summaryEvery
	if start {
		o.logged = true
	}
	if start || summary {
		o.lastSummary = time.Now()
	}
	o.mu.Unlock()
	switch {
	case start:
		o.logStart(out)
	case summary:
		records, oldest := o.r.backlog()
		o.r.set.Logger.Warn("Delivery to the next consumer is still failing",
			append(o.backlogFields(records, oldest),
				zap.Duration("down_for", time.Since(out.since).Round(time.Second)),
				zap.Int("failed_requests", out.failures),
				zap.Error(out.lastErr))...)
	}
}

func (o *outageReporter) outageEnded(out outage) {
	o.mu.Lock()
	o.lastEnd = time.Now()
	logged := o.logged
	brief := 0
	if logged {
		brief, o.brief = o.brief, 0
	} else {
		o.brief++
	}
	o.mu.Unlock()
	if logged {
		records, oldest := o.r.backlog()
		fields := append(o.backlogFields(records, oldest),
			zap.Duration("down_for", time.Since(out.since).Round(time.Millisecond)),
			zap.Int("failed_requests", out.failures))
		if brief > 0 {
			fields = append(fields, zap.Int("brief_interruptions_before", brief))
		}
		o.r.set.Logger.Info("Delivery to the next consumer resumed", fields...)
	}
	o.down.Store(false)
	if o.lastReadFailure.Load() == 0 {
		o.health.OK()
	}
}

// readFailed reports a failed read of the log (it is retried).
func (o *outageReporter) readFailed(err error) {
	o.lastReadFailure.Store(time.Now().UnixNano())
	o.health.Failed(err)
}

// readSucceeded ends a read failure once a worker reads records and no
// read has failed for readRecovered: with one damaged shard among
// healthy ones, the status stays an error instead of flapping.
func (o *outageReporter) readSucceeded() {
	last := o.lastReadFailure.Load()
	if last == 0 || time.Since(time.Unix(0, last)) < readRecovered {
		return
	}
	if o.lastReadFailure.CompareAndSwap(last, 0) && !o.down.Load() {
		o.health.OK()
	}
}

// logStart logs the WARN of an outage, with the brief interruptions that
// were not logged before it.
func (o *outageReporter) logStart(out outage) {
	o.mu.Lock()
	brief := o.brief
	o.brief = 0
	o.mu.Unlock()
	records, oldest := o.r.backlog()
	fields := append(o.backlogFields(records, oldest),
		zap.Duration("next_probe_within", o.r.cfg.RetryOnFailure.MaxInterval),
		zap.Error(out.lastErr))
	if d := time.Since(out.since); d >= time.Second {
		fields = append(fields, zap.Duration("down_for", d.Round(time.Second)))
	}
	if brief > 0 {
		fields = append(fields, zap.Int("brief_interruptions_before", brief))
	}
	o.r.set.Logger.Warn("Delivery to the next consumer is failing; records stay on disk and are probed for, one request at a time", fields...)
}

func (o *outageReporter) backlogFields(records int64, oldest time.Time) []zap.Field {
	fields := []zap.Field{zap.String("group", o.r.group), zap.Stringer("signal", o.r.signal), zap.Int64("backlog_records", records)}
	if !oldest.IsZero() {
		fields = append(fields, zap.Duration("backlog_age", time.Since(oldest).Round(time.Second)))
	}
	return fields
}

// backlog is what the group has not acknowledged on the signal's shards:
// records, and when the oldest of them was appended (zero when none).
func (r *cometReceiver) backlog() (records int64, oldest time.Time) {
	ctx := context.Background()
	records, err := r.lag(ctx)
	if err != nil {
		return 0, time.Time{}
	}
	shards, err := r.acker.Shards()
	if err != nil {
		return records, time.Time{}
	}
	for _, s := range shards {
		if t, ok, err := r.acker.OldestUnackedTime(ctx, s); err == nil && ok && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	return records, oldest
}
