// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/health"
)

// summaryEvery is how often an ongoing outage is summarised in the log.
const summaryEvery = time.Minute

// outageReporter tells the operator about outages of the next consumer:
// one WARN when delivery starts failing, a summary every summaryEvery
// while it lasts, one INFO when it resumes; and the component status
// (recoverable error, then OK) for the health check.
type outageReporter struct {
	r      *cometReceiver
	health health.Reporter

	mu          sync.Mutex
	lastSummary time.Time
}

func (o *outageReporter) outageStarted(out outage) {
	o.mu.Lock()
	o.lastSummary = time.Now()
	o.mu.Unlock()
	records, oldest := o.r.backlog()
	o.r.set.Logger.Warn("Delivery to the next consumer is failing; records stay on disk and are probed for, one request at a time",
		append(o.backlogFields(records, oldest),
			zap.Duration("first_probe_in", o.r.cfg.RetryOnFailure.InitialInterval),
			zap.Error(out.lastErr))...)
	o.health.Recoverable(out.lastErr)
}

func (o *outageReporter) outageContinues(out outage) {
	o.mu.Lock()
	due := time.Since(o.lastSummary) >= summaryEvery
	if due {
		o.lastSummary = time.Now()
	}
	o.mu.Unlock()
	if !due {
		return
	}
	records, oldest := o.r.backlog()
	o.r.set.Logger.Warn("Delivery to the next consumer is still failing",
		append(o.backlogFields(records, oldest),
			zap.Duration("down_for", time.Since(out.since).Round(time.Second)),
			zap.Int("failed_requests", out.failures),
			zap.Error(out.lastErr))...)
}

func (o *outageReporter) outageEnded(out outage) {
	records, oldest := o.r.backlog()
	o.r.set.Logger.Info("Delivery to the next consumer resumed",
		append(o.backlogFields(records, oldest),
			zap.Duration("down_for", time.Since(out.since).Round(time.Millisecond)),
			zap.Int("failed_requests", out.failures))...)
	o.health.OK()
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
