// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/log"
)

// deliver hands one record to the next consumer until it accepts or
// permanently refuses it, or retry::max_elapsed_time passes (the record is
// then dropped, counted and logged); after a retryable error it waits
// (retry) and tries again. beforeWait runs before each wait. The error is
// ctx's when it ends before the record is settled.
func (r *cometReceiver) deliver(ctx context.Context, m *log.StreamMessage, d decoded, beforeWait func()) error {
	var b *backoff
	for {
		opCtx := r.sink.startOp(r.obs, ctx)
		err := d.consume(opCtx)
		r.sink.endOp(r.obs, opCtx, recordFormat, d.items, err)
		switch {
		case err == nil:
			r.telemetry.CometReceiverDeliveredRecords.Add(ctx, 1)
			return nil
		case consumererror.IsPermanent(err):
			r.telemetry.CometReceiverRejectedRecords.Add(ctx, 1)
			r.set.Logger.Warn("Skipping a record the pipeline refused permanently", recordFields(m, d, err)...)
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		if b == nil {
			b = newBackoff(&r.cfg.Retry)
			r.set.Logger.Warn("Pipeline refused a record; retrying it until accepted", recordFields(m, d, err)...)
		}
		if b.expired() {
			r.telemetry.CometReceiverRejectedRecords.Add(ctx, 1)
			r.set.Logger.Error("Dropping a record: retry::max_elapsed_time passed", append(recordFields(m, d, err),
				zap.Duration("max_elapsed_time", r.cfg.Retry.MaxElapsedTime))...)
			return nil
		}
		beforeWait()
		if !b.wait(ctx) {
			return ctx.Err()
		}
		r.telemetry.CometReceiverRetries.Add(ctx, 1)
	}
}

func recordFields(m *log.StreamMessage, d decoded, err error) []zap.Field {
	fields := []zap.Field{
		zap.String("stream", m.Stream), zap.Uint32("shard", m.ID.ShardID), zap.Int64("entry", m.ID.EntryNumber), zap.Int("items", d.items),
	}
	if err != nil {
		fields = append(fields, zap.Error(err))
	}
	return fields
}

// ack acknowledges up to id. With retry, a failed ack is retried until it
// succeeds or ctx ends, so delivered records are not delivered again
// needlessly; otherwise one attempt is made.
func (r *cometReceiver) ack(ctx context.Context, id *log.MessageID, retry bool) {
	if id == nil {
		return
	}
	var b *backoff
	for {
		// Ack does not depend on ctx: records delivered before a
		// shutdown are still acknowledged.
		err := r.acker.Ack(context.Background(), *id)
		if err == nil {
			return
		}
		if !retry || errors.Is(err, log.ErrClosed) {
			r.set.Logger.Warn("Acknowledging delivered records failed; they will be delivered again",
				zap.Uint32("shard", id.ShardID), zap.Int64("entry", id.EntryNumber), zap.Error(err))
			return
		}
		r.set.Logger.Warn("Acknowledging delivered records failed; retrying",
			zap.Uint32("shard", id.ShardID), zap.Int64("entry", id.EntryNumber), zap.Error(err))
		if b == nil {
			b = newBackoff(&r.cfg.Retry)
		}
		if !b.wait(ctx) {
			return
		}
	}
}
