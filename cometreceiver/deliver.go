// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/comet-otel/comet/internal/log"
)

// This file is where records become downstream requests: merging, the
// send under the pipeline's gate, narrowing a permanent refusal down to
// its record, and acknowledgement. Nothing else in the receiver retries.

// chunk is a run of consecutive records of one shard sent as one request.
type chunk struct {
	records []log.StreamMessage // decodable records, in entry order
	decoded []request           // their decoding, used by the first attempt only
	// last is the entry the chunk settles up to, when settles is set:
	// its last record, or an undecodable record after it.
	last    log.MessageID
	settles bool
	// deadline, once a retryable failure set it, is when the chunk
	// expires (retry_on_failure::max_elapsed_time after that failure).
	deadline time.Time
}

// extend makes the chunk settle up to id.
func (ch *chunk) extend(id log.MessageID) { ch.last, ch.settles = id, true }

// outcome is how a chunk's send ended.
type outcome int

const (
	outcomeSent       outcome = iota // accepted by the next consumer
	outcomeRefused                   // refused for good (or cannot be built)
	outcomeExpired                   // not accepted within retry_on_failure::max_elapsed_time
	outcomeNotRetried                // refused with retry_on_failure disabled
	outcomeStopped                   // the receiver is shutting down
)

// deliverBatch is the workers' log.ProcessFunc. It merges consecutive
// records of msgs (one shard, in entry order) into requests of at most
// batch::max_items items and sends them in order, each acknowledged once
// settled: accepted, or skipped (refused for good, undecodable, expired)
// and counted. It returns only when the receiver stops (ctx's error):
// what was settled is acknowledged, the rest is read again later.
func (r *cometReceiver) deliverBatch(ctx context.Context, msgs []log.StreamMessage) error {
	r.outages.readSucceeded()
	skipped := &skipTally{}
	defer r.reportSkipped(skipped)
	var pending chunk
	items := 0
	for i := range msgs {
		m := &msgs[i]
		req, err := r.sink.decode(m.Data)
		if err != nil {
			skipped.add(skipUndecodable, m.Stream, []log.StreamMessage{*m}, err)
			pending.extend(m.ID)
			continue
		}
		if len(pending.records) > 0 && items+req.items() > r.cfg.Batch.MaxItems {
			if err := r.settle(ctx, pending, skipped); err != nil {
				return err
			}
			pending, items = chunk{}, 0
		}
		pending.records = append(pending.records, *m)
		pending.decoded = append(pending.decoded, req)
		pending.extend(m.ID)
		items += req.items()
	}
	return r.settle(ctx, pending, skipped)
}

// settle sends a chunk and acknowledges it, unless the receiver stops
// first. A chunk refused for good, or expired, is split in halves that are
// settled in turn, so that only the records that fail are skipped: one
// bad record never costs its neighbours.
func (r *cometReceiver) settle(ctx context.Context, ch chunk, skipped *skipTally) error {
	if len(ch.records) > 0 {
		switch res, err := r.send(ctx, &ch); res {
		case outcomeSent:
			r.delivered(ctx, ch)
		case outcomeRefused, outcomeExpired:
			if len(ch.records) > 1 {
				left, right := ch.halves()
				if err := r.settle(ctx, left, skipped); err != nil {
					return err
				}
				return r.settle(ctx, right, skipped)
			}
			if res == outcomeRefused {
				skipped.add(skipRefused, ch.records[0].Stream, ch.records, err)
			} else {
				skipped.add(skipExpired, ch.records[0].Stream, ch.records, err)
			}
		case outcomeNotRetried:
			skipped.add(skipNotRetried, ch.records[0].Stream, ch.records, err)
		case outcomeStopped:
			return err
		}
	}
	if ch.settles {
		r.ack(ctx, ch.last)
	}
	return nil
}

// halves splits a chunk of two or more records in two. They keep its
// deadline: halves of an expired chunk get one attempt each.
func (ch chunk) halves() (left, right chunk) {
	n := len(ch.records) / 2
	left = chunk{records: ch.records[:n], last: ch.records[n-1].ID, settles: true, deadline: ch.deadline}
	right = chunk{records: ch.records[n:], last: ch.last, settles: true, deadline: ch.deadline}
	return left, right
}

// request builds the chunk's request: from its first decoding once, then
// decoded afresh, because a consumer that failed may have changed what
// it was given.
func (ch *chunk) request(s sink) (request, error) {
	reqs := ch.decoded
	ch.decoded = nil
	if reqs == nil {
		reqs = make([]request, len(ch.records))
		for i, m := range ch.records {
			req, err := s.decode(m.Data)
			if err != nil {
				return nil, err
			}
			reqs[i] = req
		}
	}
	if len(reqs) == 1 {
		return reqs[0], nil
	}
	return s.merge(reqs)
}

// send hands the chunk's request to the next consumer under the gate
// until it is accepted or refused for good; a retryable refusal waits for
// the gate (see gate.go). With retry_on_failure::max_elapsed_time, a
// chunk still refused that long after its first retryable failure
// expires; every send makes at least one attempt.
func (r *cometReceiver) send(ctx context.Context, ch *chunk) (outcome, error) {
	retry := &r.cfg.RetryOnFailure
	var lastErr error
	for attempt := 0; ; attempt++ {
		p := permitOpen
		if retry.Enabled {
			var deadline time.Time
			if attempt > 0 {
				deadline = ch.deadline
			}
			var err error
			if p, err = r.gate.wait(ctx, deadline); errors.Is(err, errWaitExpired) {
				return outcomeExpired, lastErr
			} else if err != nil {
				return outcomeStopped, err
			}
		}
		req, err := ch.request(r.sink)
		if err != nil {
			r.gate.abandoned(p)
			return outcomeRefused, err
		}
		err = req.send(ctx)
		switch {
		case err == nil:
			r.gate.answered(p)
			return outcomeSent, nil
		case consumererror.IsPermanent(err):
			r.gate.answered(p)
			r.failed(ctx, failurePermanent)
			return outcomeRefused, err
		case ctx.Err() != nil:
			r.gate.abandoned(p)
			return outcomeStopped, ctx.Err()
		}
		r.failed(ctx, failureRetryable)
		if !retry.Enabled {
			return outcomeNotRetried, err
		}
		r.gate.refused(p, err)
		lastErr = err
		if retry.MaxElapsedTime > 0 {
			if ch.deadline.IsZero() {
				ch.deadline = time.Now().Add(retry.MaxElapsedTime)
			} else if !time.Now().Before(ch.deadline) {
				return outcomeExpired, err
			}
		}
	}
}

// ack acknowledges up to id. A failed acknowledgement is retried until it
// succeeds or ctx ends, so delivered records are not delivered again
// needlessly. It does not depend on ctx itself: records delivered before
// a shutdown are still acknowledged.
func (r *cometReceiver) ack(ctx context.Context, id log.MessageID) {
	schedule := newProbeSchedule(&r.cfg.RetryOnFailure)
	for {
		err := r.acker.Ack(context.Background(), id)
		if err == nil {
			return
		}
		if errors.Is(err, log.ErrClosed) {
			r.set.Logger.Warn("Acknowledging delivered records failed; they will be delivered again",
				ackFields(id, err)...)
			return
		}
		r.set.Logger.Warn("Acknowledging delivered records failed; retrying", ackFields(id, err)...)
		if sleepUntil(ctx, time.Now().Add(max(schedule.interval(), 10*time.Millisecond)), nil) != nil {
			return
		}
	}
}
