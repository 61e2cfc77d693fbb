// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/alarm"
)

// Client is a handle on one data directory: a set of streams, each an
// append-only log of entries split in segments. It is safe for concurrent
// use. One process writes a directory (NewClient takes a lock); other
// processes may open it ReadOnly to consume.
type Client struct {
	dir      string
	cfg      CometConfig
	log      *zap.Logger
	lock     *dirLock
	slot     *writerSlot // multi-process mode: the writer slot held (slots.go)
	readOnly bool
	clock    clock

	mu     sync.RWMutex
	shards map[streamKey]*shard
	byName sync.Map // stream name as given → *shard, the Append fast path

	failedShards sync.Map // streamKey → message of the error that kept it closed

	notifyMu  sync.Mutex
	notifiers map[namespaceKey]*notifier

	consumersMu sync.Mutex
	consumers   map[*Consumer]struct{} // open consumers, closed with the client
	presences   presences              // group presence locks of open consumers

	diskBytes atomic.Int64
	ownBytes  atomic.Int64 // bytes of the shards this client writes (usage.go)
	admitting atomic.Int64 // bytes of appends admitted and not yet written (admission.go)
	stats     counters
	files     *fileCache // idle segment read descriptors
	space     spaceState

	// offsetsFailing: consumer offsets could not be stored (full disk);
	// unsavedOffsets counts the groups whose offset holds in memory only.
	offsetsFailing alarm.Alarm
	unsavedOffsets atomic.Int64

	closed        atomic.Bool
	stop          chan struct{}
	retentionKick chan struct{}
	bg            sync.WaitGroup
}

// NewClient opens (creating if needed) the data directory with the given
// configuration, or DefaultCometConfig when none is given.
func NewClient(dataDir string, config ...CometConfig) (*Client, error) {
	cfg := DefaultCometConfig()
	if len(config) > 0 {
		cfg = config[0]
	}
	return NewClientWithConfig(dataDir, cfg)
}

// NewClientWithConfig opens the data directory: it takes the writer lock
// (unless ReadOnly), recovers every shard (truncating torn tails, counting
// damaged records) and starts background fsync, checkpoint and retention.
// The log always opens unless the directory itself is unusable, another
// writer holds it, or it holds data of a newer on-disk format (a
// *FormatError, see ErrNewerFormat); a stream that cannot be opened is
// logged and left out.
func NewClientWithConfig(dataDir string, config CometConfig) (*Client, error) {
	return newClient(dataDir, config, newSystemClock())
}

// newClient is NewClientWithConfig on a given clock.
func newClient(dataDir string, config CometConfig, clk clock) (*Client, error) {
	cfg := config.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("comet config: %w", err)
	}
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("comet data directory %q: %w", dataDir, err)
	}
	c := &Client{
		dir:       dir,
		cfg:       cfg,
		log:       cfg.Logger.With(zap.String("directory", dir)),
		readOnly:  cfg.Concurrency.ReadOnly,
		clock:     clk,
		shards:    map[streamKey]*shard{},
		notifiers: map[namespaceKey]*notifier{},
		consumers: map[*Consumer]struct{}{},
		files:     newFileCache(),
		stop:      make(chan struct{}),

		retentionKick: make(chan struct{}, 1),
	}
	if c.readOnly {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("comet data directory: %w", err)
		}
	} else {
		if err := os.MkdirAll(dir, cfg.Storage.DirMode); err != nil {
			return nil, fmt.Errorf("create comet data directory: %w", err)
		}
		if err := c.lockForWriting(); err != nil {
			return nil, err
		}
	}
	err = checkFormatMarker(dir, c.readOnly, cfg.Storage.FileMode, c.log)
	if err == nil {
		err = c.openExistingShards()
	}
	if err == nil && c.slot != nil {
		c.slot.usage.publish(c.ownBytes.Load()) // replaces a dead predecessor's figure
	}
	if err != nil {
		c.closeShards()
		c.releaseLocks()
		return nil, err
	}
	c.startBackground()
	c.log.Debug("Opened comet log", zap.Int("shards", len(c.shards)), zap.Int64("disk_bytes", c.diskBytes.Load()))
	return c, nil
}

// lockForWriting takes the writer lock, or in multi-process mode shares
// it and takes a writer slot.
func (c *Client) lockForWriting() error {
	var err error
	if !c.cfg.Concurrency.EnableMultiProcessMode {
		c.lock, err = acquireDirLock(c.dir, c.cfg.Storage.FileMode)
		return err
	}
	if c.lock, err = acquireSharedDirLock(c.dir, c.cfg.Storage.FileMode); err != nil {
		return err
	}
	if c.slot, err = acquireSlot(c.dir, c.cfg.Concurrency.ProcessSlots, c.cfg.Storage.FileMode, c.cfg.Storage.DirMode); err != nil {
		_ = c.lock.release()
		return err
	}
	c.log = c.log.With(zap.Int("writer_slot", c.slot.slot))
	return nil
}

// releaseLocks gives back the writer slot and the writer lock.
func (c *Client) releaseLocks() error {
	var errs []error
	if c.slot != nil {
		errs = append(errs, c.slot.release())
	}
	if c.lock != nil {
		errs = append(errs, c.lock.release())
	}
	return errors.Join(errs...)
}

// openExistingShards opens every shard directory found on disk.
func (c *Client) openExistingShards() error {
	return c.openShardsOf(namespaceKey{})
}

// openShardsOf opens the shards on disk of one namespace (or of all, for
// the zero namespaceKey) that are not open yet. A shard that cannot be
// opened is reported and left out (see unopenable); a newer format
// refuses the whole directory.
func (c *Client) openShardsOf(nk namespaceKey) error {
	keys, err := c.discoverShards(nk)
	if err != nil {
		return err
	}
	for _, k := range keys {
		_, err := c.shardByKey(k, false)
		switch {
		case err == nil || errors.Is(err, os.ErrNotExist):
		case errors.Is(err, ErrNewerFormat) || errors.Is(err, ErrClosed):
			return err
		default:
			c.unopenable(k, err)
		}
	}
	return nil
}

// discoverShards lists shard directories on disk, of one namespace or (for
// the zero namespaceKey) of all. Names that are not valid streams are
// ignored, so stray files never become paths we act on.
func (c *Client) discoverShards(only namespaceKey) ([]streamKey, error) {
	var keys []streamKey
	nsNames := []string{only.ns}
	if only.ns == "" {
		var err error
		if nsNames, err = readDirNames(c.dir); err != nil {
			return nil, err
		}
	}
	for _, ns := range nsNames {
		if validateNamePart(ns) != nil {
			continue
		}
		verNames := []string{only.ver}
		if only.ns == "" {
			verNames, _ = readDirNames(filepath.Join(c.dir, ns))
		}
		for _, ver := range verNames {
			if validateNamePart(ver) != nil {
				continue
			}
			shardNames, _ := readDirNames(filepath.Join(c.dir, ns, ver))
			for _, name := range shardNames {
				if id, ok := parseShardDir(name); ok {
					keys = append(keys, streamKey{ns: ns, ver: ver, shard: id})
				}
			}
		}
	}
	return keys, nil
}

func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if isDirectory(dir, e) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// shardByKey returns the open shard, opening it on first use. create makes
// a missing shard (writers only); otherwise a missing shard is
// os.ErrNotExist.
func (c *Client) shardByKey(k streamKey, create bool) (*shard, error) {
	c.mu.RLock()
	s := c.shards[k]
	c.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if s := c.shards[k]; s != nil {
		return s, nil
	}
	if !create {
		if _, err := os.Stat(filepath.Join(c.dir, k.dir())); err != nil {
			return nil, os.ErrNotExist
		}
	}
	s, err := c.openShard(k, create)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("open stream %s: %w", k.name(), err)
	}
	c.shards[k] = s
	c.failedShards.Delete(k)
	c.diskBytes.Add(s.bytes.Load())
	if !s.readOnly {
		c.noteOwnBytes(s.bytes.Load())
	}
	return s, nil
}

// shardForAppend resolves a stream name for Append, caching the result by
// the exact string so the hot path does not parse.
func (c *Client) shardForAppend(stream string) (*shard, error) {
	if v, ok := c.byName.Load(stream); ok {
		return v.(*shard), nil
	}
	k, err := parseStream(stream)
	if err != nil {
		return nil, err
	}
	if !c.ownsShard(k.shard) {
		return nil, fmt.Errorf("%w: %s belongs to writer slot %d of %d; this process holds slot %d (Client.OwnedShards)",
			ErrNotOwner, stream, k.shard%uint32(c.slot.slots), c.slot.slots, c.slot.slot)
	}
	s, err := c.shardByKey(k, true)
	if err != nil {
		return nil, err
	}
	c.byName.Store(stream, s)
	return s, nil
}

// shardsOf returns the open shards of a namespace, by shard ID.
func (c *Client) shardsOf(nk namespaceKey) []*shard {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*shard
	for k, s := range c.shards {
		if k.ns == nk.ns && k.ver == nk.ver {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *shard) int { return cmp.Compare(a.key.shard, b.key.shard) })
	return out
}

// allShards returns every open shard.
func (c *Client) allShards() []*shard {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*shard, 0, len(c.shards))
	for _, s := range c.shards {
		out = append(out, s)
	}
	return out
}

// Append writes entries, in order, to one stream ("ns:ver:shard:NNNN") and
// returns their IDs. The batch is one write: entries are consecutive and
// visible to consumers in this process when Append returns. Under
// SyncAlways it returns after an fsync that covers the batch. When a size
// budget is exceeded, Retention.WhenFull decides: wait (bounded by ctx),
// fail with ErrFull, or drop the oldest segment. Cost: one write syscall
// and one allocation (the returned IDs) per call.
func (c *Client) Append(ctx context.Context, stream string, entries [][]byte) ([]MessageID, error) {
	s, err := c.writableShard(stream, entries)
	if s == nil {
		return nil, err
	}
	return s.append(ctx, entries)
}

// writableShard resolves the stream an append of entries goes to. A nil
// shard with a nil error means there is nothing to write.
func (c *Client) writableShard(stream string, entries [][]byte) (*shard, error) {
	switch {
	case c.readOnly:
		return nil, ErrReadOnly
	case c.closed.Load():
		return nil, ErrClosed
	case len(entries) == 0:
		return nil, nil
	}
	return c.shardForAppend(stream)
}

// Len returns the number of entries ever appended to the stream: its next
// entry number. A stream never written has length 0.
func (c *Client) Len(ctx context.Context, stream string) (int64, error) {
	k, err := parseStream(stream)
	if err != nil {
		return 0, err
	}
	s, err := c.shardByKey(k, false)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if s.readOnly {
		s.refresh()
	}
	return s.next.Load(), nil
}

// Sync makes everything appended so far durable, whatever the sync mode,
// together with consumer offsets.
func (c *Client) Sync(ctx context.Context) error {
	if c.closed.Load() {
		return ErrClosed
	}
	var errs []error
	for _, s := range c.allShards() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !c.readOnly {
			errs = append(errs, s.waitSynced(s.dur.written.Load()))
		}
		errs = append(errs, s.groups.syncAll())
	}
	return errors.Join(errs...)
}

// Close flushes and closes every stream, waits for background work and
// releases the directory lock. Consumers of this client stop working.
func (c *Client) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(c.stop)
	c.space.wakeAll()
	var errs []error
	for _, s := range c.allShards() {
		if !c.readOnly {
			errs = append(errs, s.waitSynced(s.dur.written.Load()))
		}
		errs = append(errs, s.groups.syncAll())
	}
	c.bg.Wait()
	c.checkpointActiveSegments()
	c.closeConsumers()
	c.releaseAllPresences()
	c.files.closeAll()
	errs = append(errs, c.closeShards())
	errs = append(errs, c.releaseLocks())
	c.wakeAllConsumers()
	return c.closeError(errs)
}

// closeError joins the errors of Close, except offsets that could not be
// stored at all (a full disk): their groups receive those entries again
// after the restart, which is at-least-once delivery, not a failure to
// close. They are logged instead.
func (c *Client) closeError(errs []error) error {
	var rest, unstored []error
	for _, err := range flattenErrors(errs) {
		if errors.Is(err, errOffsetNotStored) {
			unstored = append(unstored, err)
		} else {
			rest = append(rest, err)
		}
	}
	if len(unstored) > 0 {
		c.log.Warn("Closing with consumer offsets that could not be stored (the disk is full): those groups will receive the entries after their stored offsets again",
			zap.Int("offsets", len(unstored)), zap.Error(errors.Join(unstored...)))
	}
	return errors.Join(rest...)
}

// flattenErrors lists the errors of errs, joined ones one by one.
func flattenErrors(errs []error) []error {
	var out []error
	for _, err := range errs {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			out = append(out, flattenErrors(joined.Unwrap())...)
		} else if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// closeConsumers releases the segments open consumers hold.
func (c *Client) closeConsumers() {
	c.consumersMu.Lock()
	open := make([]*Consumer, 0, len(c.consumers))
	for cons := range c.consumers {
		open = append(open, cons)
	}
	c.consumersMu.Unlock()
	for _, cons := range open {
		_ = cons.Close() // releases descriptors only: cannot fail
	}
}

// closeShards closes writer handles and offset files.
func (c *Client) closeShards() error {
	var errs []error
	for _, s := range c.allShards() {
		s.mu.Lock()
		if s.w != nil {
			s.dur.syncMu.Lock()
			errs = append(errs, s.w.Close())
			s.w = nil
			s.dur.syncMu.Unlock()
		}
		s.mu.Unlock()
		errs = append(errs, s.groups.closeAll())
	}
	return errors.Join(errs...)
}

// startBackground starts the loops a client owns: checkpointing consumer
// offsets (readers too: their acknowledgements are theirs to make
// durable) and, for the writer, interval fsync and retention.
func (c *Client) startBackground() {
	if c.cfg.Storage.CheckpointTime > 0 {
		c.every(time.Duration(c.cfg.Storage.CheckpointTime)*time.Millisecond, c.checkpointOffsets)
	}
	c.bg.Add(1)
	if c.readOnly {
		go c.reclaimLoop()
		return
	}
	c.writePolicy()
	if c.cfg.Durability.Mode == SyncInterval {
		c.every(c.cfg.Durability.Interval, c.syncDirtyShards)
	}
	go c.retentionLoop()
}

// every runs fn every period until Close.
func (c *Client) every(period time.Duration, fn func()) {
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				fn()
			}
		}
	}()
}

// syncDirtyShards fsyncs shards with unsynced appends (SyncInterval).
func (c *Client) syncDirtyShards() {
	for _, s := range c.allShards() {
		if pos := s.dur.written.Load(); s.unsyncedEntries() > 0 {
			_ = s.waitSynced(pos) // failures are logged, counted and sticky
		}
	}
}

// checkpointOffsets flushes consumer offsets of every shard. Offsets that
// could not be stored at all are not reported again here: storing them
// said so once already, and they are retried at every checkpoint.
func (c *Client) checkpointOffsets() {
	for _, s := range c.allShards() {
		if err := s.groups.syncAll(); err != nil && !onlyNotStored(err) {
			c.log.Warn("Checkpointing consumer offsets failed", zap.String("stream", s.name), zap.Error(err))
		}
	}
	c.offsetsStoredAgain()
}

// offsetsSettle is how long offsets must be stored without a failure
// before an episode of failures ends: on a nearly full disk, overwrites
// succeed while new offset files fail, and that is one episode.
const offsetsSettle = 2 * time.Second

// offsetsStoredAgain ends an episode of offsets that could not be stored,
// and says so once, when every offset has been stored and none failed
// for offsetsSettle.
func (c *Client) offsetsStoredAgain() {
	if !c.offsetsFailing.On() || c.unsavedOffsets.Load() > 0 {
		return
	}
	if n, lasted, ended := c.offsetsFailing.Clear(offsetsSettle); ended {
		c.log.Info("Consumer offsets are stored again", zap.Int64("failed_writes", n), zap.Duration("after", lasted))
	}
}

// onlyNotStored reports whether err (possibly joined) holds nothing but
// errOffsetNotStored.
func onlyNotStored(err error) bool {
	for _, e := range flattenErrors([]error{err}) {
		if !errors.Is(e, errOffsetNotStored) {
			return false
		}
	}
	return true
}
