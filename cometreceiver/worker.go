// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/log"
)

// runWorker delivers this worker's share of the shards until ctx ends.
//
// The engine's Process does the reading, the fair turns between shards and
// the idle wait (woken at once by an append in this process, polling for
// another process). When the next consumer fails with a retryable error,
// the worker leaves Process and closes its reading Consumer before it
// waits, keeping the records it read in memory: a Consumer keeps the
// segment of each shard it read open, and a segment deleted meanwhile (by
// when_full drop_oldest or force_delete_after) would keep its disk space
// for as long as the outage lasts. Once the parked records are delivered
// the worker reads on with a new Consumer.
func (r *cometReceiver) runWorker(ctx context.Context, id int) {
	for ctx.Err() == nil {
		parked, b, err := r.readUntilParked(ctx, id)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, log.ErrClosed):
			r.set.Logger.Error("Comet log closed under the receiver; worker stops", zap.Int("worker", id))
			return
		case err != nil:
			r.set.Logger.Error("Reading the comet log failed; retrying", zap.Int("worker", id), zap.Error(err))
			if !newBackoff(&r.cfg.Retry).wait(ctx) {
				return
			}
		case len(parked) > 0:
			if _, _, err := r.deliverRecords(ctx, parked, b, false); err != nil {
				return // stopping: the rest stays unacknowledged
			}
		}
	}
}

// readUntilParked runs Process with a Consumer of its own until ctx ends
// or a record fails with a retryable error; then it returns the records
// of that batch from the failed one on, and the failed record's backoff.
func (r *cometReceiver) readUntilParked(ctx context.Context, id int) ([]log.StreamMessage, *backoff, error) {
	c := log.NewConsumer(r.handle.Client(), r.consumerOptions(log.StartEarliest))
	defer c.Close()
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	var parked []log.StreamMessage
	var b *backoff
	err := c.Process(pctx, func(hctx context.Context, msgs []log.StreamMessage) error {
		rest, rb, err := r.deliverRecords(hctx, msgs, nil, true)
		if err != nil {
			return err // stopping
		}
		if len(rest) > 0 {
			parked, b = rest, rb
			stop() // Process returns without acknowledging the batch
			return context.Canceled
		}
		return nil
	},
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
	return parked, b, err
}

// deliverRecords delivers msgs (one shard, in entry order). Each record is
// acknowledged, cumulatively, once the next consumer accepted it, refused
// it for good, or it could not be decoded. b is the backoff of msgs[0] if
// it already failed. With park, the first retryable failure ends the call:
// it returns the records from the failed one on and that record's backoff;
// without park, the record is retried until it is delivered. The error is
// ctx's when it ends; what was delivered is acknowledged, the rest is not.
func (r *cometReceiver) deliverRecords(ctx context.Context, msgs []log.StreamMessage, b *backoff, park bool) ([]log.StreamMessage, *backoff, error) {
	var done *log.MessageID
	for i := range msgs {
		m := &msgs[i]
		backoff := b // msgs[0]'s only
		b = nil
		d, err := r.sink.decode(m.Data)
		if err != nil {
			r.telemetry.CometReceiverDecodeFailures.Add(ctx, 1)
			r.set.Logger.Warn("Skipping a record that is not OTLP protobuf",
				zap.String("stream", m.Stream), zap.Uint32("shard", m.ID.ShardID), zap.Int64("entry", m.ID.EntryNumber), zap.Error(err))
		} else {
			failed, err := r.deliver(ctx, m, d, backoff, park, func() { r.ack(ctx, done, false) })
			if err != nil {
				r.ack(ctx, done, false)
				return nil, nil, err
			}
			if failed != nil {
				r.ack(ctx, done, true)
				return msgs[i:], failed, nil
			}
		}
		done = &m.ID
	}
	r.ack(ctx, done, true)
	return nil, nil, nil
}
