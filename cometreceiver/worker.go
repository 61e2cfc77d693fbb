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

// runWorker reads this worker's share of the shards until ctx ends. The
// engine's Process does the reading, the fair turns between shards and
// the idle wait (woken at once by an append in this process, polling for
// another process); handleBatch does delivery, retries and acks, so
// Process itself never sees a failed batch.
func (r *cometReceiver) runWorker(ctx context.Context, id int) {
	for {
		err := r.consumer.Process(ctx, r.handleBatch,
			log.WithBatchSize(r.cfg.BatchSize),
			log.WithPollInterval(r.cfg.PollInterval),
			log.WithConsumerAssignment(id, r.cfg.Workers),
			log.WithAutoAck(false),
			log.WithMaxRetries(-1),
			log.WithRetryDelay(r.cfg.Retry.InitialInterval),
			log.WithErrorHandler(func(err error, _ int) {
				r.set.Logger.Warn("Reading the comet log failed; retrying", zap.Int("worker", id), zap.Error(err))
			}),
		)
		if err == nil || ctx.Err() != nil {
			return
		}
		if errors.Is(err, log.ErrClosed) {
			r.set.Logger.Error("Comet log closed under the receiver; worker stops", zap.Int("worker", id))
			return
		}
		r.set.Logger.Error("Comet receiver worker failed; restarting it", zap.Int("worker", id), zap.Error(err))
		if !newBackoff(&r.cfg.Retry).wait(ctx) {
			return
		}
	}
}

// handleBatch delivers the records of one shard in order. Each record is
// acknowledged (cumulatively) once the next consumer accepted it, refused
// it for good, or it could not be decoded; a retryable error retries the
// same record. When ctx ends it acknowledges what was done and returns
// ctx's error, leaving the rest unacknowledged for the next start.
func (r *cometReceiver) handleBatch(ctx context.Context, msgs []log.StreamMessage) error {
	var done *log.MessageID
	for i := range msgs {
		m := &msgs[i]
		d, err := r.sink.decode(m.Data)
		if err != nil {
			r.telemetry.CometReceiverDecodeFailures.Add(ctx, 1)
			r.set.Logger.Warn("Skipping a record that is not OTLP protobuf",
				zap.String("stream", m.Stream), zap.Uint32("shard", m.ID.ShardID), zap.Int64("entry", m.ID.EntryNumber), zap.Error(err))
		} else if err := r.deliver(ctx, m, d, func() { r.ack(ctx, done, false) }); err != nil {
			r.ack(ctx, done, false)
			return err
		}
		done = &m.ID
	}
	r.ack(ctx, done, true)
	return nil
}

// deliver hands one record to the next consumer until it accepts or
// permanently refuses it, max_elapsed_time passes, or ctx ends (the only
// error returned). beforeWait runs before each backoff so a long outage
// keeps the records already delivered acknowledged.
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
	return []zap.Field{
		zap.String("stream", m.Stream), zap.Uint32("shard", m.ID.ShardID), zap.Int64("entry", m.ID.EntryNumber),
		zap.Int("items", d.items), zap.Error(err),
	}
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
		err := r.consumer.Ack(context.Background(), *id)
		if err == nil || !retry || errors.Is(err, log.ErrClosed) {
			if err != nil {
				r.set.Logger.Warn("Acknowledging delivered records failed; they will be delivered again",
					zap.Uint32("shard", id.ShardID), zap.Int64("entry", id.EntryNumber), zap.Error(err))
			}
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
