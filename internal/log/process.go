// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ProcessFunc handles a batch of messages from one shard, in entry order.
// Returning nil acknowledges the batch (with auto-ack); an error makes
// Process retry the same batch.
type ProcessFunc func(ctx context.Context, messages []StreamMessage) error

// ProcessOption configures Process.
type ProcessOption func(*processConfig)

type processConfig struct {
	stream      string
	shards      []uint32
	batchSize   int
	batchBytes  int64
	poll        time.Duration
	assignID    int
	assignTotal int
	onError     func(err error, retryCount int)
	onBatch     func(size int, duration time.Duration)
	maxRetries  int
	retryDelay  time.Duration
	autoAck     bool
	membership  bool
	linger      time.Duration
	lingerBytes int64
}

const (
	defaultBatchSize  = 100
	defaultPoll       = 100 * time.Millisecond
	defaultMaxRetries = 3
	defaultRetryDelay = 100 * time.Millisecond
	maxRetryDelay     = 30 * time.Second
	// rediscoverEvery bounds how long a new shard of another process
	// waits before Process reads it.
	rediscoverEvery = time.Second
)

// WithStream sets the stream pattern of a Consumer created without one
// (before any other call on it); otherwise it must equal
// ConsumerOptions.Stream.
func WithStream(pattern string) ProcessOption { return func(p *processConfig) { p.stream = pattern } }

// WithShards restricts Process to the given shards.
func WithShards(shards ...uint32) ProcessOption {
	return func(p *processConfig) { p.shards = append([]uint32(nil), shards...) }
}

// WithBatchSize sets the maximum messages per handler call (default 100).
func WithBatchSize(size int) ProcessOption { return func(p *processConfig) { p.batchSize = size } }

// WithMaxBatchBytes bounds the payload bytes of a handler call (default:
// no bound; only WithBatchSize applies). A single larger entry still
// makes a batch of its own, so a handler's memory is at most bytes plus
// one entry.
func WithMaxBatchBytes(bytes int64) ProcessOption {
	return func(p *processConfig) { p.batchBytes = bytes }
}

// WithPollInterval sets how often Process looks for entries appended by
// another process (default 100ms). Appends in this process wake it at once.
func WithPollInterval(interval time.Duration) ProcessOption {
	return func(p *processConfig) { p.poll = interval }
}

// WithConsumerAssignment makes this Process read only the shards s with
// s % total == id, so total workers of one group split the shards.
func WithConsumerAssignment(id, total int) ProcessOption {
	return func(p *processConfig) { p.assignID, p.assignTotal = id, total }
}

// WithGroupMembership makes this Process a member of its consumer group:
// the members (every Process of the group with this option, in any
// process on the directory) split the shards among them, each shard read
// by one member at a time, and the shards of a member that returns or
// dies go to the others within about a second (see membership.go). With
// WithShards, the members split those shards. It cannot be combined with
// WithConsumerAssignment.
func WithGroupMembership() ProcessOption { return func(p *processConfig) { p.membership = true } }

// WithLinger holds back a batch smaller than the batch size and than
// minBytes payload bytes for up to wait, so that a consumer keeping up
// with its writers calls handler less often with more: the shard is read
// again wait after such a batch was found, and what it holds then is
// delivered, small or not. A shard that has a full batch is delivered at
// once, so draining a backlog never waits. Default: no lingering.
func WithLinger(minBytes int64, wait time.Duration) ProcessOption {
	return func(p *processConfig) { p.lingerBytes, p.linger = minBytes, wait }
}

// WithErrorHandler is called with each handler or read error and the
// number of the retry that follows.
func WithErrorHandler(handler func(err error, retryCount int)) ProcessOption {
	return func(p *processConfig) { p.onError = handler }
}

// WithBatchCallback is called after each successful batch with its size
// and the handler's duration.
func WithBatchCallback(callback func(size int, duration time.Duration)) ProcessOption {
	return func(p *processConfig) { p.onBatch = callback }
}

// WithMaxRetries sets how often a failing batch is retried before Process
// returns the error (default 3; negative retries forever).
func WithMaxRetries(retries int) ProcessOption {
	return func(p *processConfig) { p.maxRetries = retries }
}

// WithRetryDelay sets the first retry delay; it doubles per retry up to 30s
// (default 100ms).
func WithRetryDelay(delay time.Duration) ProcessOption {
	return func(p *processConfig) { p.retryDelay = delay }
}

// WithAutoAck acknowledges each batch after the handler succeeds
// (default true). Without it the handler acknowledges through Ack.
func WithAutoAck(enabled bool) ProcessOption { return func(p *processConfig) { p.autoAck = enabled } }

// Process reads the consumer's shards and calls handler with batches until
// ctx ends, delivering at least once: a batch is acknowledged only after
// handler returned nil, and a failed batch is retried, unchanged, with
// backoff. Shards take turns so a busy shard cannot starve the others. It
// returns nil when ctx is cancelled, or the error that made it stop.
func (c *Consumer) Process(ctx context.Context, handler ProcessFunc, opts ...ProcessOption) error {
	p := processConfig{batchSize: defaultBatchSize, poll: defaultPoll, maxRetries: defaultMaxRetries,
		retryDelay: defaultRetryDelay, autoAck: true, assignTotal: 1}
	for _, o := range opts {
		o(&p)
	}
	if err := c.checkProcessConfig(&p); err != nil {
		return err
	}
	var m *member
	if p.membership {
		var err error
		if m, err = c.join(); err != nil {
			return err
		}
		defer m.leave()
		if !sleepCtx(ctx, joinSettle) {
			return nil
		}
	}
	var candidates, shards []uint32
	var discovered time.Time
	held := newLingerTable(&p)
	for turn := 0; ctx.Err() == nil; turn++ {
		found := false
		if candidates == nil || time.Since(discovered) > rediscoverEvery {
			var err error
			if candidates, err = c.assignedShards(&p); err != nil {
				return err
			}
			discovered, found = time.Now(), true
		}
		switch {
		case m == nil:
			shards = candidates
		case found || m.due():
			shards = m.rebalance(candidates)
		}
		held.keepOnly(shards)
		appended := c.appended()
		delivered, err := c.processRound(ctx, handler, &p, held, shards, turn)
		if err != nil {
			return err
		}
		if !delivered {
			poll := p.poll
			if due, ok := held.nextDeadline(time.Now()); ok {
				poll = min(poll, due)
			}
			c.wait(ctx, appended, poll)
			discovered = time.Time{} // idle: look for new shards
		}
	}
	return nil
}

func (c *Consumer) checkProcessConfig(p *processConfig) error {
	if p.stream != "" && errors.Is(c.err, errNoStream) {
		c.bind(p.stream)
	}
	switch {
	case p.stream != "" && p.stream != c.opts.Stream:
		return fmt.Errorf("comet consumer: WithStream(%q) differs from ConsumerOptions.Stream %q", p.stream, c.opts.Stream)
	case p.batchSize < 1:
		return fmt.Errorf("comet consumer: WithBatchSize must be at least 1, got %d", p.batchSize)
	case p.batchBytes < 0:
		return fmt.Errorf("comet consumer: WithMaxBatchBytes must not be negative, got %d", p.batchBytes)
	case p.poll <= 0:
		return fmt.Errorf("comet consumer: WithPollInterval must be positive, got %s", p.poll)
	case p.membership && p.assignTotal > 1:
		return errors.New("comet consumer: WithGroupMembership and WithConsumerAssignment cannot be combined: members split the shards themselves")
	case p.assignTotal < 1 || p.assignID < 0 || p.assignID >= p.assignTotal:
		return fmt.Errorf("comet consumer: WithConsumerAssignment(%d, %d) needs 0 <= id < total", p.assignID, p.assignTotal)
	case p.linger < 0 || p.lingerBytes < 0:
		return fmt.Errorf("comet consumer: WithLinger needs a non-negative size and wait, got %d and %s", p.lingerBytes, p.linger)
	case p.retryDelay <= 0:
		return fmt.Errorf("comet consumer: WithRetryDelay must be positive, got %s", p.retryDelay)
	}
	return c.usable()
}

// assignedShards lists the shards this Process reads.
func (c *Consumer) assignedShards(p *processConfig) ([]uint32, error) {
	all := p.shards
	if all == nil {
		var err error
		if all, err = c.Shards(); err != nil {
			return nil, err
		}
	}
	mine := make([]uint32, 0, len(all))
	for _, id := range all {
		if int(id%uint32(p.assignTotal)) == p.assignID {
			mine = append(mine, id)
		}
	}
	return mine, nil
}

// processRound gives every shard one turn, starting at a rotating shard,
// except shards held until a deadline still ahead. It reports whether any
// message was delivered.
func (c *Consumer) processRound(ctx context.Context, handler ProcessFunc, p *processConfig, held *lingerTable, shards []uint32, turn int) (bool, error) {
	delivered := false
	for i := range shards {
		if ctx.Err() != nil {
			return delivered, nil
		}
		id := shards[(turn+i)%len(shards)]
		if held.waiting(id, time.Now()) {
			continue
		}
		msgs, err := c.readBatch(ctx, id, p)
		if err != nil {
			held.forget(id)
			if ctx.Err() != nil {
				return delivered, nil
			}
			if errors.Is(err, ErrClosed) {
				return delivered, err
			}
			if p.onError != nil {
				p.onError(err, 0)
			}
			continue
		}
		if len(msgs) == 0 {
			held.forget(id)
			continue
		}
		if held.holdBack(id, msgs, p.batchSize, time.Now()) {
			c.rewind(id) // read again at the deadline, without a seek
			continue
		}
		delivered = true
		if err := c.deliver(ctx, handler, p, msgs); err != nil {
			return delivered, err
		}
	}
	return delivered, nil
}

// readBatch reads one shard's next batch within the batch limits.
func (c *Consumer) readBatch(ctx context.Context, id uint32, p *processConfig) ([]StreamMessage, error) {
	if p.batchBytes == 0 {
		return c.Read(ctx, []uint32{id}, p.batchSize)
	}
	if err := c.usable(); err != nil {
		return nil, err
	}
	s, ok, err := c.shard(id)
	if err != nil || !ok {
		return nil, err
	}
	out, err := c.readShard(s, byteQuota(p.batchSize, p.batchBytes), nil)
	if err != nil {
		return out, err
	}
	return out, ctx.Err()
}

// deliver calls handler until it accepts the batch, then acknowledges it.
func (c *Consumer) deliver(ctx context.Context, handler ProcessFunc, p *processConfig, msgs []StreamMessage) error {
	for attempt := 0; ; attempt++ {
		start := time.Now()
		err := handler(ctx, msgs)
		if err == nil {
			if p.onBatch != nil {
				p.onBatch(len(msgs), time.Since(start))
			}
			if !p.autoAck {
				return nil
			}
			return c.Ack(ctx, msgs[len(msgs)-1].ID)
		}
		if ctx.Err() != nil {
			return nil // stopping: the batch stays unacknowledged
		}
		if p.maxRetries >= 0 && attempt >= p.maxRetries {
			first, last := msgs[0].ID, msgs[len(msgs)-1].ID
			return fmt.Errorf("comet consumer: handler failed %d times on entries %d-%d of shard %d (not acknowledged): %w",
				attempt+1, first.EntryNumber, last.EntryNumber, first.ShardID, err)
		}
		if p.onError != nil {
			p.onError(err, attempt+1)
		}
		if !sleepCtx(ctx, retryDelay(p.retryDelay, attempt)) {
			return nil
		}
	}
}

// retryDelay doubles base per attempt, up to maxRetryDelay.
func retryDelay(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 0; i < attempt && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, max(base, maxRetryDelay))
}

// sleepCtx sleeps for d and reports false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
