// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/log"
)

// runWorker delivers this worker's share of the shards until ctx ends,
// with one Consumer for its whole life.
//
// The engine's Process does the reading, the fair turns between shards and
// the idle wait (woken at once by an append in this process, polling for
// another process). The handler retries a record that fails with a
// retryable error itself, so nothing after it on this worker's shards is
// read or delivered meanwhile, and the worker holds only that batch in
// memory. The engine holds a segment's file only during a read, so a
// segment deleted while the worker waits (by when_full drop_oldest or
// force_delete_after) frees its disk space at once.
func (r *cometReceiver) runWorker(ctx context.Context, id int) {
	c := log.NewConsumer(r.handle.Client(), r.consumerOptions(log.StartEarliest))
	defer c.Close()
	for {
		err := c.Process(ctx, r.deliverRecords,
			log.WithBatchSize(r.cfg.BatchSize),
			log.WithPollInterval(r.cfg.PollInterval),
			log.WithConsumerAssignment(id, r.cfg.Workers),
			// deliverRecords acknowledges what it settled, record by
			// record; it fails only when ctx ends.
			log.WithAutoAck(false),
			log.WithErrorHandler(func(err error, _ int) {
				r.set.Logger.Warn("Reading the comet log failed; retrying", zap.Int("worker", id), zap.Error(err))
			}),
		)
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
		}
	}
}

// deliverRecords is the worker's log.ProcessFunc: it delivers msgs (one
// shard, in entry order) one record at a time (see deliver). A record is
// settled once the next consumer accepted it, refused it for good or it
// was dropped after retry::max_elapsed_time, or when it cannot be decoded.
// Settled records are acknowledged cumulatively at the end of the batch
// and before each retry wait, so they stay acknowledged through a long
// outage. It returns ctx's error when ctx ends: what was settled is
// acknowledged, the rest is not.
func (r *cometReceiver) deliverRecords(ctx context.Context, msgs []log.StreamMessage) error {
	var settled *log.MessageID // the last settled record not yet acknowledged
	ackSettled := func(retry bool) {
		r.ack(ctx, settled, retry)
		settled = nil
	}
	for i := range msgs {
		m := &msgs[i]
		d, err := r.sink.decode(m.Data)
		if err != nil {
			r.telemetry.CometReceiverDecodeFailures.Add(ctx, 1)
			r.set.Logger.Warn("Skipping a record that is not OTLP protobuf",
				zap.String("stream", m.Stream), zap.Uint32("shard", m.ID.ShardID), zap.Int64("entry", m.ID.EntryNumber), zap.Error(err))
		} else if err := r.deliver(ctx, m, d, func() { ackSettled(true) }); err != nil {
			ackSettled(false)
			return err
		}
		settled = &m.ID
	}
	ackSettled(true)
	return nil
}
