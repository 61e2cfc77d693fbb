// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
)

// MessageID identifies an entry: its number within its shard (from 0) and
// the shard.
type MessageID struct {
	EntryNumber int64
	ShardID     uint32
}

// StreamMessage is an entry as a consumer reads it.
type StreamMessage struct {
	Stream string
	ID     MessageID
	// Data is the entry as appended. It may share memory with other
	// messages of the same Read; it is never reused by the Consumer.
	Data []byte
}

// StartPosition is where a group starts on a shard it has never read.
type StartPosition int

const (
	// StartEarliest starts at the oldest entry still on disk.
	StartEarliest StartPosition = iota
	// StartLatest starts after the last entry appended when the Consumer
	// was created; shards created later are read from their start.
	StartLatest
	// StartByTime starts at the first entry appended at or after
	// ConsumerOptions.StartTime (replay a window to a new backend).
	StartByTime
)

// ConsumerOptions binds a Consumer to a group and a namespace.
type ConsumerOptions struct {
	// Group names the consumer group: any non-empty UTF-8 string. Offsets
	// are kept per group and shard.
	Group string
	// Stream is "ns:ver:shard:*" (every shard of a namespace, including
	// shards created later) or one stream "ns:ver:shard:NNNN".
	Stream string
	// Start applies to shards this group has never read.
	Start StartPosition
	// StartTime is where a StartByTime group starts.
	StartTime time.Time
}

// Consumer reads a namespace's shards for one group. Offsets are durable
// and shared by every Consumer of the group in this process; run one
// process per group. A Consumer is safe for concurrent use.
type Consumer struct {
	c      *Client
	opts   ConsumerOptions
	nk     namespaceKey
	single *uint32
	err    error // invalid options, returned by every call

	mu       sync.Mutex
	cursors  map[uint32]*cursor
	latestAt map[uint32]int64 // StartLatest: shard ends when created
	closed   bool
	// unannounce gives back the group's presence lock (presence.go).
	unannounce func()
}

// NewConsumer binds a consumer to a group and a stream pattern. Invalid
// options are reported by the first call that uses them.
func NewConsumer(client *Client, opts ConsumerOptions) *Consumer {
	c := &Consumer{c: client, opts: opts, cursors: map[uint32]*cursor{}}
	client.consumersMu.Lock()
	client.consumers[c] = struct{}{}
	client.consumersMu.Unlock()
	switch {
	case opts.Group == "":
		c.err = errors.New("comet consumer: ConsumerOptions.Group must not be empty")
	case opts.Start != StartEarliest && opts.Start != StartLatest && opts.Start != StartByTime:
		c.err = fmt.Errorf("comet consumer: unknown ConsumerOptions.Start %d", opts.Start)
	case opts.Stream == "":
		c.err = errNoStream
	default:
		c.bind(opts.Stream)
	}
	return c
}

var errNoStream = errors.New("comet consumer: no stream: set ConsumerOptions.Stream or use WithStream")

// bind sets the consumer's stream pattern.
func (c *Consumer) bind(pattern string) {
	c.opts.Stream = pattern
	c.nk, c.single, c.err = parsePattern(pattern)
	if c.err != nil {
		c.err = fmt.Errorf("comet consumer: stream: %w", c.err)
		return
	}
	c.announce()
	if c.opts.Start == StartLatest {
		c.latestAt = map[uint32]int64{}
		if err := c.c.discover(c.nk); err != nil {
			c.err = fmt.Errorf("comet consumer: find the shards of %s: %w", pattern, err)
			return
		}
		for _, s := range c.c.shardsOf(c.nk) {
			if s.readOnly {
				s.refresh()
			}
			c.latestAt[s.key.shard] = s.next.Load()
		}
	}
}

// announce takes the group's presence lock for this Consumer; failing
// to is logged, not fatal: the group then is only unprotected from tools
// that change its offsets from outside.
func (c *Consumer) announce() {
	release, err := c.c.announce(c.nk, c.opts.Group)
	if err != nil {
		c.c.log.Warn("Cannot announce the consumer group to other processes; cometctl cannot tell that it is in use",
			zap.String("group", c.opts.Group), zap.Error(err))
		return
	}
	c.unannounce = release
}

func (c *Consumer) usable() error {
	if c.err != nil {
		return c.err
	}
	if c.c.closed.Load() {
		return ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	return nil
}

// Shards returns the IDs of the shards the consumer reads, discovering
// shards created since the last call (by this or another process).
func (c *Consumer) Shards() ([]uint32, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if c.single != nil {
		return []uint32{*c.single}, nil
	}
	if err := c.c.discover(c.nk); err != nil {
		return nil, err
	}
	var ids []uint32
	for _, s := range c.c.shardsOf(c.nk) {
		ids = append(ids, s.key.shard)
	}
	return ids, nil
}

// shard returns an open shard of the namespace; ok is false if it does not
// exist (yet).
func (c *Consumer) shard(id uint32) (*shard, bool, error) {
	if c.single != nil && id != *c.single {
		return nil, false, fmt.Errorf("comet consumer: shard %d is not in stream %s", id, c.opts.Stream)
	}
	s, err := c.c.shardByKey(streamKey{ns: c.nk.ns, ver: c.nk.ver, shard: id}, false)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	return s, err == nil, err
}

// existingShard returns a shard of the stream that must exist (to move
// the group's offset on it).
func (c *Consumer) existingShard(id uint32) (*shard, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	s, ok, err := c.shard(id)
	if err == nil && !ok {
		err = fmt.Errorf("comet consumer: shard %d of %s does not exist", id, c.opts.Stream)
	}
	return s, err
}

// group returns the group's offset on s, creating it at the start position.
func (c *Consumer) group(s *shard) *groupOffset {
	if c.opts.Start == StartByTime {
		if g, ok := s.groups.get(c.opts.Group, false, 0); ok {
			return g
		}
	}
	g, _ := s.groups.get(c.opts.Group, true, c.startEntry(s))
	return g
}

// rewind puts shard id's cursor back where its last read started, for
// entries that are to be read again (see lingerTable).
func (c *Consumer) rewind(id uint32) {
	c.mu.Lock()
	cur := c.cursors[id]
	c.mu.Unlock()
	if cur == nil {
		return
	}
	cur.mu.Lock()
	defer cur.mu.Unlock()
	cur.rewind()
}

// reloadOffset re-reads the group's offset on shard id from its file
// (see groupTable.reload).
func (c *Consumer) reloadOffset(id uint32) {
	if s, ok, err := c.shard(id); err == nil && ok {
		s.groups.reload(c.opts.Group)
	}
}

// startEntry is where the group starts on a shard it has never read.
func (c *Consumer) startEntry(s *shard) int64 {
	start := s.firstEntry()
	switch c.opts.Start {
	case StartLatest:
		c.mu.Lock()
		if end, ok := c.latestAt[s.key.shard]; ok {
			start = max(end, start)
		}
		c.mu.Unlock()
	case StartByTime:
		entry, err := s.entryAtTime(c.opts.StartTime.UnixNano())
		if err != nil {
			// Unreadable time bounds: replay more rather than skip.
			c.c.log.Warn("Cannot find the start time in the log; the group starts at the oldest entry",
				zap.String("stream", s.name), zap.String("group", c.opts.Group), zap.Error(err))
			return start
		}
		start = max(entry, start)
	}
	return start
}

func (c *Consumer) cursorFor(s *shard) *cursor {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.cursors[s.key.shard]
	if cur == nil {
		cur = &cursor{s: s, entry: -1}
		c.cursors[s.key.shard] = cur
	}
	return cur
}

// Read returns up to count entries in total from the group's offsets on
// the given shards (all shards of the stream when none are given), in
// entry order per shard, visiting shards in the given order. It does not
// move offsets: reading again without Ack returns the same entries. It
// does not wait: with nothing new it returns no messages. Entries that
// were deleted or damaged before the group read them are skipped, counted
// in stats, and the group's offset moves past them.
func (c *Consumer) Read(ctx context.Context, shards []uint32, count int) ([]StreamMessage, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if count <= 0 {
		return nil, nil
	}
	if len(shards) == 0 {
		var err error
		if shards, err = c.Shards(); err != nil {
			return nil, err
		}
	}
	var out []StreamMessage // grown by what is read: most reads of a caught-up consumer find nothing
	for _, id := range shards {
		if len(out) >= count || ctx.Err() != nil {
			break
		}
		s, ok, err := c.shard(id)
		if err != nil {
			return out, err
		}
		if !ok {
			continue
		}
		if out, err = c.readShard(s, entryQuota(count-len(out)), out); err != nil {
			return out, err
		}
	}
	return out, ctx.Err()
}

// readShard reads one shard from the group's offset, within q.
func (c *Consumer) readShard(s *shard, q quota, out []StreamMessage) ([]StreamMessage, error) {
	g := c.group(s)
	cur := c.cursorFor(s)
	cur.mu.Lock()
	defer cur.mu.Unlock()
	defer cur.park()
	off := g.offset.Load()
	var gap int64
	var err error
	if cur.seg == nil || cur.entry != off || cur.pos > cur.seg.size.Load() {
		gap, err = cur.seek(off)
	} else {
		gap, err = cur.resume()
	}
	if err != nil {
		return out, err
	}
	c.skipGap(s, g, off, cur.entry, gap)
	cur.markStart()
	from := len(out)
	out, gap, err = cur.read(q, out)
	if gap > 0 {
		c.countGap(s, g, gap)
	}
	if len(out) == from {
		// Nothing to deliver: let the offset follow damage or deletions
		// the cursor stepped over, so lag reflects what is left.
		c.skipGap(s, g, off, cur.entry, 0)
	}
	return out, err
}

// skipGap moves the group's offset from off to entry when entries between
// were found missing (deleted by retention, lost to damage) before any was
// delivered.
func (c *Consumer) skipGap(s *shard, g *groupOffset, off, entry, gap int64) {
	if gap > 0 {
		c.countGap(s, g, gap)
	}
	if entry > off {
		g.advance(entry)
	}
}

func (c *Consumer) countGap(s *shard, g *groupOffset, gap int64) {
	s.c.stats.lost.Add(gap)
	s.c.log.Warn("Consumer group skipped entries that no longer exist",
		zap.String("stream", s.name), zap.String("group", g.name), zap.Int64("entries", gap))
}

// Ack acknowledges entries: per shard, the group's offset moves to one past
// the highest acknowledged entry if that is beyond it (acknowledgements
// are cumulative). Acknowledging an entry not yet appended is an error.
func (c *Consumer) Ack(ctx context.Context, ids ...MessageID) error {
	if err := c.usable(); err != nil {
		return err
	}
	highest := map[uint32]int64{}
	for _, id := range ids {
		if e, ok := highest[id.ShardID]; !ok || id.EntryNumber > e {
			highest[id.ShardID] = id.EntryNumber
		}
	}
	keys := slices.Sorted(func(yield func(uint32) bool) {
		for k := range highest {
			if !yield(k) {
				return
			}
		}
	})
	for _, shardID := range keys {
		if err := c.ackUpTo(shardID, highest[shardID]); err != nil {
			return err
		}
	}
	return nil
}

// AckRange acknowledges entries from..to (inclusive) of one shard. As
// acknowledgements are cumulative it moves the offset to to+1.
func (c *Consumer) AckRange(ctx context.Context, shardID uint32, fromEntry, toEntry int64) error {
	if err := c.usable(); err != nil {
		return err
	}
	if fromEntry > toEntry {
		return fmt.Errorf("comet consumer: AckRange from %d is after to %d", fromEntry, toEntry)
	}
	return c.ackUpTo(shardID, toEntry)
}

func (c *Consumer) ackUpTo(shardID uint32, entry int64) error {
	s, ok, err := c.shard(shardID)
	if err != nil {
		return err
	}
	if !ok || entry >= s.next.Load() || entry < 0 {
		return fmt.Errorf("comet consumer: cannot acknowledge entry %d of shard %d: not appended", entry, shardID)
	}
	g := c.group(s)
	g.advance(entry + 1)
	c.c.space.acked()
	if (c.c.cfg.Retention.DeleteConsumed || c.c.readOnly) && c.ackFreesSegment(s, entry+1) {
		c.c.kickRetention()
	}
	return nil
}

// ackFreesSegment reports whether an offset moved to off may let
// retention delete a segment: it passes the oldest segment's end, or it
// reaches the end of the shard (the active segment may then be sealed
// once idle).
func (c *Consumer) ackFreesSegment(s *shard, off int64) bool {
	segs := s.segments()
	return len(segs) > c.c.cfg.Retention.MinFilesToKeep && off >= segs[0].end() || off >= s.next.Load()
}

// GetLag returns how many entries of the shard the group has not
// acknowledged: the stream's length minus the group's offset (or minus
// where the group would start, if it has not read the shard yet).
func (c *Consumer) GetLag(ctx context.Context, shardID uint32) (int64, error) {
	if err := c.usable(); err != nil {
		return 0, err
	}
	s, ok, err := c.shard(shardID)
	if err != nil || !ok {
		return 0, err
	}
	if s.readOnly {
		s.refresh()
	}
	g, exists := s.groups.get(c.opts.Group, false, 0)
	end := s.next.Load()
	if !exists {
		return end - s.firstEntry(), nil
	}
	return max(end-g.offset.Load(), 0), nil
}

// ResetOffset moves the group's offset on a shard to entryNumber (clamped
// to the stream's length), forward or back: the next Read starts there.
func (c *Consumer) ResetOffset(ctx context.Context, shardID uint32, entryNumber int64) error {
	s, err := c.existingShard(shardID)
	if err != nil {
		return err
	}
	entryNumber = min(max(entryNumber, 0), s.next.Load())
	g := c.group(s)
	g.set(entryNumber)
	return nil
}

// Close releases the consumer's open segments. Offsets are already stored.
// Closing the Client closes its consumers.
func (c *Consumer) Close() error {
	c.c.consumersMu.Lock()
	delete(c.c.consumers, c)
	c.c.consumersMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.unannounce != nil {
		c.unannounce()
	}
	for _, cur := range c.cursors {
		cur.mu.Lock()
		cur.close()
		cur.mu.Unlock()
	}
	return nil
}

// appended returns a channel closed by the next append to the namespace
// in this process. Take it before reading, then wait on it if the read
// found nothing, so an append in between is not missed.
func (c *Consumer) appended() <-chan struct{} {
	return c.c.notifierFor(c.nk).wait()
}

// wait blocks until appended fires, the poll interval passes (for appends
// by another process), the client closes, or ctx ends.
func (c *Consumer) wait(ctx context.Context, appended <-chan struct{}, poll time.Duration) {
	t := time.NewTimer(poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-appended:
	case <-c.c.stop:
	case <-t.C:
	}
}
