// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/log"
)

// readRetryDelay spaces attempts to read a log that failed to read (a
// damaged directory, a disk error); delivery failures are the gate's.
const readRetryDelay = time.Second

// runWorker delivers this worker's share of the shards until ctx ends,
// with one Consumer for its whole life. Each worker is a member of the
// consumer group: the workers of every receiver of the group, in this
// collector or another on the same directory, split the shards, and take
// over the shards of one that stops or dies within about a second.
//
// The engine's Process is only the reader here: it takes the shards in
// turn, reads batches of at most batch::max_items records and
// batch::max_bytes bytes, holds a shard whose batch is under
// batch::min_bytes back for batch::flush_timeout so that a pipeline
// keeping up sends fewer, larger requests, and waits when there is
// nothing to read (woken at once by an append in this process, polling
// for another process).
// Everything about delivery is deliverBatch's (deliver.go), which
// returns an error only when ctx ends, so Process never retries a batch
// itself and acknowledges nothing itself. The engine holds a segment's
// file only during a read, so a segment deleted while the worker waits
// out an outage frees its disk space at once.
func (r *cometReceiver) runWorker(ctx context.Context, id int) {
	c := log.NewConsumer(r.handle.Client(), r.consumerOptions(startPosition{at: log.StartEarliest}))
	defer c.Close()
	for {
		err := c.Process(ctx, r.deliverBatch,
			log.WithBatchSize(r.cfg.Batch.MaxItems),
			log.WithMaxBatchBytes(r.cfg.Batch.MaxBytes),
			log.WithLinger(r.cfg.Batch.MinBytes, r.cfg.Batch.FlushTimeout),
			log.WithPollInterval(r.cfg.PollInterval),
			log.WithGroupMembership(),
			log.WithAutoAck(false),
			log.WithErrorHandler(func(err error, _ int) {
				r.set.Logger.Warn("Reading the comet log failed; retrying", zap.Int("worker", id), zap.Error(err))
				r.outages.readFailed(err)
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
			r.outages.readFailed(err)
			if sleepUntil(ctx, time.Now().Add(readRetryDelay), nil) != nil {
				return
			}
		}
	}
}

// ackFields names an acknowledgement in logs.
func ackFields(id log.MessageID, err error) []zap.Field {
	return []zap.Field{zap.Uint32("shard", id.ShardID), zap.Int64("entry", id.EntryNumber), zap.Error(err)}
}
