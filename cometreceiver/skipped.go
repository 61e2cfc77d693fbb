// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/log"
)

// skipReason is why records were acknowledged without being delivered.
type skipReason int

const (
	skipRefused     skipReason = iota // the next consumer refused them for good
	skipUndecodable                   // not OTLP protobuf of the signal
	skipExpired                       // not accepted within retry_on_failure::max_elapsed_time
	skipNotRetried                    // refused with retry_on_failure disabled
	skipReasons
)

var skipReasonNames = [skipReasons]string{"refused", "undecodable", "expired", "not_retried"}

// skipTally collects the records one batch skipped, so that they are
// logged once per batch, not once per record.
type skipTally struct {
	counts      [skipReasons]int
	stream      string
	first, last int64 // entry range
	lastErr     error
}

func (t *skipTally) add(reason skipReason, stream string, records []log.StreamMessage, err error) {
	if t.total() == 0 {
		t.stream, t.first = stream, records[0].ID.EntryNumber
	}
	t.counts[reason] += len(records)
	t.last = records[len(records)-1].ID.EntryNumber
	t.lastErr = err
}

func (t *skipTally) total() (n int) {
	for _, c := range t.counts {
		n += c
	}
	return n
}

// reportSkipped counts a batch's skipped records and logs them in one
// line: they are data the pipeline will never see.
func (r *cometReceiver) reportSkipped(t *skipTally) {
	if t.total() == 0 {
		return
	}
	fields := []zap.Field{zap.String("stream", t.stream), zap.Int64("first_entry", t.first), zap.Int64("last_entry", t.last)}
	for reason, n := range t.counts {
		if n > 0 {
			name := skipReasonNames[reason]
			r.telemetry.CometReceiverSkippedRecords.Add(context.Background(), int64(n), metric.WithAttributes(attribute.String("reason", name)))
			fields = append(fields, zap.Int(name, n))
		}
	}
	fields = append(fields, zap.NamedError("last_error", t.lastErr))
	r.set.Logger.Error("Skipped records that cannot be delivered; they are acknowledged and will not be retried", fields...)
}
