// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/alarm"
	"github.com/comet-otel/comet/internal/health"
	"github.com/comet-otel/comet/internal/log"
)

// stream is the engine stream holding a client's records; each client
// has a data directory of its own.
const stream = "kv:v1:shard:0000"

var (
	errClientClosed = errors.New("comet_storage: client is closed")
	errEmptyKey     = errors.New("comet_storage: key must not be empty")
	errKeyTooLarge  = fmt.Errorf("comet_storage: key is longer than %d bytes", MaxKeySize)
)

// clientSettings is what a client needs from the extension's config.
type clientSettings struct {
	logger      *zap.Logger
	sync        SyncConfig
	segmentSize int64
	maxSize     int64
	compaction  CompactionConfig
	dirMode     os.FileMode
	events      clientEvents
	// health hears when writes start or stop failing.
	health *health.Reporter
}

// clientEvents reports what a client did, for telemetry. Nil funcs are
// not called.
type clientEvents struct {
	compacted func(segments int64)
	deleted   func(segments int64)
	damaged   func(records int64)
}

func (ev clientEvents) report(fn func(int64), n int64) {
	if fn != nil && n > 0 {
		fn(n)
	}
}

// client is a storage.Client over one engine log: a key-value store whose
// writes are records appended to the log and whose key directory, kept
// in memory, points each key to its newest record.
type client struct {
	set clientSettings
	log *zap.Logger
	dir string
	eng *log.Client

	// mu guards the key directory and orders appends with their effect on
	// it: a batch is appended and applied under mu, so the order of the
	// records in the log is the order in which they took effect.
	mu      sync.Mutex
	kd      keydir
	closed  bool
	buf     []byte         // record encoding, reused
	entry   [1][]byte      // the append's entry list, reused
	writes  []write        // a batch's writes, reused
	index   map[string]int // key → position in writes, for large batches
	batches uint64         // batches appended, to tell an idle client
	last    log.Location   // the newest record applied, for the snapshot
	// sinceSnapshot counts the record bytes appended since the last
	// snapshot; snapshotSize is that snapshot's size.
	sinceSnapshot, snapshotSize int64
	damaged                     map[entry]bool // damaged records already reported (seg, off)
	onClose                     func()

	res      reserve     // disk-full reserve, see reserve.go
	diskFull alarm.Alarm // the disk refused writes: said once per episode

	maint maintenance // background compaction state, owned by its goroutine
	// reclaim asks the compaction goroutine for a round now (see awaitReclaim).
	reclaim reclaimRequests
	stop    chan struct{}
	bg      sync.WaitGroup
}

var (
	_ storage.Client = (*client)(nil)
	_ storage.Walker = (*client)(nil)
)

// openClient opens (creating if needed) the store in dir, rebuilds its
// key directory from the log and starts background compaction.
func openClient(ctx context.Context, dir string, set clientSettings) (*client, error) {
	eng, err := log.NewClientWithConfig(dir, engineConfig(set))
	if errors.Is(err, log.ErrLocked) {
		return nil, fmt.Errorf("comet_storage: %s is in use by another process: %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("comet_storage: open %s: %w", dir, err)
	}
	c := &client{
		set:     set,
		log:     set.logger.With(zap.String("directory", dir)),
		dir:     dir,
		eng:     eng,
		kd:      newKeydir(),
		onClose: func() {},
		stop:    make(chan struct{}),
		reclaim: reclaimRequests{kick: make(chan struct{}, 1)},
	}
	if err := c.rebuild(ctx); err != nil {
		_ = eng.Close()
		return nil, err
	}
	c.openReserve()
	c.bg.Add(1)
	go c.compactLoop()
	return c, nil
}

// engineConfig maps the extension's settings onto the engine. Only under
// interval does the engine fsync on its own. Under always the client calls
// Sync after each batch, outside its lock, so concurrent batches share an
// fsync (the engine's SyncAlways would fsync under the client's lock, one
// batch at a time). A Sync covers the active segment and every segment
// sealed since the previous one. Retention stays off: the client alone
// decides which segments are no longer needed.
func engineConfig(set clientSettings) log.CometConfig {
	cfg := log.DefaultCometConfig()
	cfg.Logger = set.logger
	// Values are typically protobuf already; compressing them would cost
	// CPU on the queue's hot path for little gain.
	cfg.Compression = log.CompressionConfig{Codec: log.CodecNone}
	cfg.Storage.MaxFileSize = set.segmentSize
	cfg.Storage.MaxEntrySize = maxRecordSize
	cfg.Storage.CheckpointTime = 0
	cfg.Storage.DirMode = set.dirMode
	cfg.Storage.FileMode = 0o600
	cfg.Retention = log.RetentionConfig{CleanupInterval: time.Hour, MinFilesToKeep: 1, WhenFull: log.FullReject}
	cfg.Durability = log.DurabilityConfig{Mode: log.SyncNone}
	if set.sync.Mode == SyncInterval {
		cfg.Durability = log.DurabilityConfig{Mode: log.SyncInterval, Interval: set.sync.Interval}
	}
	return cfg
}

// rebuild loads the key directory: from the snapshot written at the last
// Close plus the records appended after it when the snapshot matches the
// log, otherwise by reading every record of the log, in order. Damaged
// records were skipped by the engine (and a torn tail truncated); their
// writes are lost and reported here.
func (c *client) rebuild(ctx context.Context) error {
	start := time.Now()
	infos, err := c.eng.Segments(stream)
	if err != nil {
		return fmt.Errorf("comet_storage: list segments of %s: %w", c.dir, err)
	}
	from, err := c.restoreSnapshot(ctx, infos)
	if err != nil {
		c.log.Warn("Ignoring the key directory snapshot; reading the whole log", zap.Error(err))
	}
	c.kd.sizes(infos)
	read, malformed, err := c.replay(ctx, from)
	if from > 0 {
		c.kd.dropVanished()
	}
	if err != nil {
		return fmt.Errorf("comet_storage: read the log in %s: %w", c.dir, err)
	}
	st := c.eng.GetStats()
	// Damage in records the snapshot covers is found when a key is read
	// (see forgetDamaged); here only that in the records read counts.
	skipped := st.CorruptEntries
	if from > 0 {
		skipped = recordsFrom(infos, from) - read
	}
	if damaged := skipped + st.Truncations + malformed; damaged > 0 {
		c.log.Error("Recovered from damaged records: the batches they held are lost, everything else is intact",
			zap.Int64("damaged_records", skipped+malformed),
			zap.Int64("torn_tails_truncated", st.Truncations), zap.Int64("truncated_bytes", st.TruncatedBytes))
		c.set.events.report(c.set.events.damaged, damaged)
	}
	c.log.Info("Opened comet storage client",
		zap.Int("keys", c.kd.live), zap.Int("segments", len(c.kd.segs)),
		zap.Int64("disk_bytes", c.kd.disk), zap.Bool("from_snapshot", from > 0),
		zap.Int64("records_read", read), zap.Duration("duration", time.Since(start)))
	return nil
}

// recordsFrom counts the records of the log's segments from entry from on.
func recordsFrom(infos []log.SegmentInfo, from int64) (n int64) {
	for _, in := range infos {
		n += max(in.EndEntry-max(in.FirstEntry, from), 0)
	}
	return n
}

// restoreSnapshot loads the snapshot into the key directory when it
// matches the log and returns the entry the log must be read from: 0 when
// there is no usable snapshot (the error says why one was not used).
func (c *client) restoreSnapshot(ctx context.Context, infos []log.SegmentInfo) (int64, error) {
	snap, err := readSnapshot(c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err == nil {
		err = snap.matches(infos, func(loc log.Location) ([]byte, error) { return c.eng.ReadAt(ctx, stream, loc) })
	}
	if err != nil {
		return 0, err
	}
	c.kd, c.last = snap.kd, snap.last
	return snap.next, nil
}

// replay applies the records from entry from on to the key directory and
// returns how many it read and how many were not valid operation lists.
func (c *client) replay(ctx context.Context, from int64) (read, malformed int64, err error) {
	var ops []decodedOp
	err = c.eng.Scan(ctx, stream, from, func(loc log.Location, data []byte) error {
		read++
		ops, err = parseRecord(data, ops[:0])
		if errors.Is(err, log.ErrNewerFormat) {
			return fmt.Errorf("segment %d offset %d: %w; open it with the release that wrote it or a later one", loc.Segment, loc.Offset, err)
		}
		if err != nil {
			malformed++
			c.log.Error("Skipping a record that is not a valid operation list: its writes are lost",
				zap.Int64("segment", loc.Segment), zap.Int64("offset", loc.Offset), zap.Error(err))
			return nil
		}
		seg := c.kd.segment(loc.Segment)
		for _, op := range ops {
			if op.del {
				c.kd.del(string(op.key), seg, uint32(loc.Offset), uint32(loc.Size))
			} else {
				c.kd.set(string(op.key), seg, uint32(loc.Offset), uint32(loc.Size), op.voff, op.vlen)
			}
		}
		c.last = loc
		return nil
	})
	return read, malformed, err
}

// Get returns the value of key, or nil when it has none. The value is
// read from disk: one read of the record that last wrote the key.
func (c *client) Get(ctx context.Context, key string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, errClientClosed
		}
		e, ok := c.kd.get(key)
		c.mu.Unlock()
		if !ok {
			return nil, nil
		}
		v, err := c.readKey(ctx, key, e)
		// Compaction may have moved the record and deleted its segment
		// between the lookup and the read: look again.
		if errors.Is(err, log.ErrEntryGone) && attempt < 3 {
			continue
		}
		var damaged *damagedRecord
		if errors.As(err, &damaged) && attempt < maxRepairs {
			if err := c.forgetDamaged(ctx, damaged); err != nil {
				return nil, err
			}
			continue
		}
		return v, err
	}
}

// Set stores value under key. It is a Batch of one operation.
func (c *client) Set(ctx context.Context, key string, value []byte) error {
	return c.Batch(ctx, storage.SetOperation(key, value))
}

// Delete removes key; deleting a missing key does nothing.
func (c *client) Delete(ctx context.Context, key string) error {
	return c.Batch(ctx, storage.DeleteOperation(key))
}

// Batch runs ops in order: a Get sees the Sets and Deletes before it in
// the same batch. All writes of the batch go into one record, appended
// with one write: after a crash either all of them are visible or none.
// Nothing is written when any operation is invalid. Under sync mode
// always, Batch returns after an fsync that covers its record.
func (c *client) Batch(ctx context.Context, ops ...*storage.Operation) error {
	if err := validateOps(ops); err != nil {
		return err
	}
	wrote, err := c.batchRepairing(ctx, ops, false)
	if errors.Is(err, errDrainNeedsSpace) && c.awaitReclaim(ctx) == nil {
		// The disk is full and the reserve spent (or half spent): a
		// reclamation round freed what it could; write now, or fail.
		wrote, err = c.batchRepairing(ctx, ops, true)
	}
	if err == nil && wrote && c.set.sync.Mode == SyncAlways {
		if err = c.eng.Sync(ctx); err != nil {
			err = fmt.Errorf("comet_storage: fsync: %w", err)
		}
	}
	c.reportHealth(wrote, err)
	return err
}

// reportHealth tells the collector when writes start or stop failing for
// lack of space or because the directory cannot be used.
func (c *client) reportHealth(wrote bool, err error) {
	switch {
	case err == nil && wrote:
		c.set.health.OK()
	case errors.Is(err, storage.ErrStorageFull), health.Permanent(err):
		c.set.health.Failed(err)
	}
}

// batchRepairing runs a batch under mu; when one of its Gets finds a
// damaged record, the key is reverted to its previous value (see
// forgetDamaged) and the batch runs again: nothing was written yet.
// reclaimed is passed on to batchLocked.
func (c *client) batchRepairing(ctx context.Context, ops []*storage.Operation, reclaimed bool) (bool, error) {
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return false, errClientClosed
		}
		wrote, err := c.batchLocked(ctx, ops, reclaimed)
		c.mu.Unlock()
		var damaged *damagedRecord
		if !errors.As(err, &damaged) || attempt >= maxRepairs {
			return wrote, err
		}
		if err := c.forgetDamaged(ctx, damaged); err != nil {
			return false, err
		}
	}
}

func validateOps(ops []*storage.Operation) error {
	for i, op := range ops {
		if op == nil {
			return fmt.Errorf("comet_storage: operation %d is nil", i)
		}
		switch op.Type {
		case storage.Get, storage.Delete:
		case storage.Set:
			if op.Key == "" {
				return errEmptyKey
			}
			if len(op.Key) > MaxKeySize {
				return errKeyTooLarge
			}
		default:
			return fmt.Errorf("comet_storage: operation %d has unknown type %d", i, op.Type)
		}
	}
	return nil
}

// batchLocked runs a validated batch under mu. It reports whether it
// appended a record. reclaimed says that a reclamation round ran for this
// batch since it last found the disk full (see reserve.go).
func (c *client) batchLocked(ctx context.Context, ops []*storage.Operation, reclaimed bool) (bool, error) {
	c.writes = c.writes[:0]
	clear(c.index)
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			if i := c.findWrite(op.Key); i >= 0 {
				op.Value = nil
				if w := &c.writes[i]; !w.del {
					op.Value = append([]byte{}, w.value...)
				}
				continue
			}
			e, ok := c.kd.get(op.Key)
			op.Value = nil
			if ok {
				v, err := c.readKey(ctx, op.Key, e)
				if err != nil {
					return false, err
				}
				op.Value = v
			}
		case storage.Set:
			c.putWrite(write{key: op.Key, value: op.Value})
		case storage.Delete:
			c.putWrite(write{key: op.Key, del: true})
		}
	}
	// Deleting a key that is absent (or already a tombstone) changes
	// nothing on disk: no record needed.
	ws := c.writes[:0]
	addsKey := false
	var deletes int64 // bytes of the values the batch deletes
	for _, w := range c.writes {
		e, live := c.kd.get(w.key)
		if w.del && !live {
			continue
		}
		if w.del {
			deletes += int64(e.vlen)
		}
		addsKey = addsKey || !w.del && !live
		ws = append(ws, w)
	}
	c.writes = ws
	if len(ws) == 0 {
		return false, nil
	}
	size := encodedSize(ws)
	if size > maxRecordSize {
		return false, errBatchTooLarge
	}
	if addsKey && c.set.maxSize > 0 && c.kd.disk+int64(size) > c.set.maxSize {
		return false, fmt.Errorf("%w: %s holds %d bytes, max_size is %d", storage.ErrStorageFull, c.dir, c.kd.disk, c.set.maxSize)
	}
	if !addsKey && !reclaimed && c.res.tight() {
		return false, errDrainNeedsSpace
	}
	if addsKey && !c.res.admits(int64(size)) {
		err := fmt.Errorf("%w: the disk of %s is full; writes that add keys wait until space is freed", storage.ErrStorageFull, c.dir)
		c.diskFullRaised(err)
		return false, err
	}
	c.buf = encodeRecord(c.buf[:0], ws)
	c.entry[0] = c.buf
	locs, err := c.eng.AppendLocated(ctx, stream, c.entry[:])
	if errors.Is(err, log.ErrNoSpace) {
		// Give up the reserve and write on its space (see reserve.go).
		if gaveUp, rerr := c.res.giveUp(); rerr != nil {
			c.log.Warn("Could not give up the disk-full reserve", zap.Error(rerr))
		} else if gaveUp {
			c.diskFullRaised(err)
			if !addsKey || c.res.admits(int64(size)) {
				locs, err = c.eng.AppendLocated(ctx, stream, c.entry[:])
			}
		}
	}
	if err != nil {
		if !errors.Is(err, log.ErrNoSpace) {
			return false, c.appendError(err)
		}
		c.diskFullRaised(err)
		if !addsKey || (!reclaimed && c.res.admits(int64(size))) {
			return false, fmt.Errorf("%w: %w", errDrainNeedsSpace, c.appendError(err))
		}
		return false, c.appendError(err)
	}
	c.apply(locs[0], ws)
	c.res.deleted(deletes)
	c.batches++
	if c.res.charge(int64(size), addsKey) {
		c.askReclaim()
	}
	if addsKey && c.res.state == reserveHeld {
		c.diskFullCleared()
	}
	return true, nil
}

// apply points the keys of a record just appended at it.
func (c *client) apply(loc log.Location, ws []write) {
	c.last = loc
	c.sinceSnapshot += loc.Size
	seg := c.kd.segment(loc.Segment)
	c.kd.addRecord(seg, loc.Size)
	off, size := uint32(loc.Offset), uint32(loc.Size)
	for _, w := range ws {
		if w.del {
			c.kd.del(w.key, seg, off, size)
		} else {
			c.kd.set(w.key, seg, off, size, w.voff, uint32(len(w.value)))
		}
	}
}

// appendError maps engine errors onto the storage contract.
func (c *client) appendError(err error) error {
	switch {
	case errors.Is(err, log.ErrNoSpace):
		return fmt.Errorf("%w: %w", storage.ErrStorageFull, err)
	case errors.Is(err, log.ErrClosed):
		return errClientClosed
	}
	return fmt.Errorf("comet_storage: append to %s: %w", c.dir, err)
}

// findWrite returns the position of key among the batch's writes, or -1.
// Small batches (the common case) are searched linearly.
func (c *client) findWrite(key string) int {
	if c.index != nil && len(c.writes) > smallBatch {
		if i, ok := c.index[key]; ok {
			return i
		}
		return -1
	}
	for i := range c.writes {
		if c.writes[i].key == key {
			return i
		}
	}
	return -1
}

const smallBatch = 16

// putWrite records the newest write of a batch to its key.
func (c *client) putWrite(w write) {
	if i := c.findWrite(w.key); i >= 0 {
		c.writes[i] = w
		return
	}
	c.writes = append(c.writes, w)
	if len(c.writes) > smallBatch {
		if c.index == nil {
			c.index = map[string]int{}
		}
		if len(c.index) == 0 {
			for i := range c.writes {
				c.index[c.writes[i].key] = i
			}
		}
		c.index[w.key] = len(c.writes) - 1
	}
}

// read returns the value e points at. The engine reads the record (one
// pread) and checks its checksum: a damaged record is reported as a
// *log.CorruptionError, never returned as data.
func (c *client) read(ctx context.Context, e entry) ([]byte, error) {
	data, err := c.eng.ReadAt(ctx, stream, e.location())
	if errors.Is(err, log.ErrClosed) {
		return nil, errClientClosed
	}
	if err != nil {
		return nil, fmt.Errorf("comet_storage: read from %s: %w", c.dir, err)
	}
	end := uint64(e.voff) + uint64(e.vlen)
	if end > uint64(len(data)) {
		return nil, fmt.Errorf("comet_storage: record at segment %d offset %d in %s is shorter than the value it should hold", e.seg, e.off, c.dir)
	}
	return data[e.voff:end:end], nil
}

// Walk calls fn with every key and its value, in key order, then applies
// the operations fn returned as one batch. It does not block writers: each
// value is the key's value at some moment of the walk. fn must not call
// the client. An error from fn other than storage.SkipAll stops the walk
// and discards the collected operations; SkipAll stops it and applies them.
func (c *client) Walk(ctx context.Context, fn storage.WalkFunc) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClientClosed
	}
	keys := make([]string, 0, c.kd.live)
	for k, e := range c.kd.keys {
		if !e.tombstone() {
			keys = append(keys, k)
		}
	}
	c.mu.Unlock()
	slices.SortFunc(keys, strings.Compare)
	var collected []*storage.Operation
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := c.Get(ctx, k)
		if err != nil {
			return err
		}
		if v == nil {
			continue // deleted since the walk started
		}
		ops, err := fn(k, v)
		if errors.Is(err, storage.SkipAll) {
			collected = append(collected, ops...)
			break
		}
		if err != nil {
			return err
		}
		collected = append(collected, ops...)
	}
	if len(collected) == 0 {
		return nil
	}
	return c.Batch(ctx, collected...)
}

// Close stops background compaction and closes the log, which makes
// everything written durable. Operations after Close fail.
func (c *client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	close(c.stop)
	c.bg.Wait()
	c.saveSnapshot(ctx)
	err := c.eng.Close()
	c.onClose()
	if err != nil {
		return fmt.Errorf("comet_storage: close %s: %w", c.dir, err)
	}
	return nil
}

// saveSnapshot writes the key directory snapshot the next open starts
// from. It is captured under mu (appends wait for the encoding: about 50
// ns per key), then the log is fsynced and the snapshot written, so it
// never describes records a power loss could take back. A failure only
// costs the next open a longer read of the log. While the disk is full
// (the reserve given up) no snapshot is written: it would take the space
// the drain needs, after a restart too.
func (c *client) saveSnapshot(ctx context.Context) {
	if c.reserveGivenUpNow() {
		c.log.Debug("Not writing the key directory snapshot: the disk is full")
		return
	}
	b, err := c.captureSnapshot(ctx)
	if err == nil {
		err = c.eng.Sync(ctx)
	}
	if err == nil {
		err = writeSnapshot(c.dir, b)
	}
	if err != nil {
		c.log.Warn("Could not write the key directory snapshot; the next open reads the log from an older one, or all of it", zap.Error(err))
		return
	}
	c.mu.Lock()
	c.sinceSnapshot, c.snapshotSize = 0, int64(len(b))
	c.mu.Unlock()
}

// captureSnapshot encodes the key directory and the log position it
// covers, under mu so that no record is appended meanwhile.
func (c *client) captureSnapshot(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next, err := c.eng.Len(ctx, stream)
	if err != nil {
		return nil, err
	}
	infos, err := c.eng.Segments(stream)
	if err != nil {
		return nil, err
	}
	var lastCRC uint32
	if next > 0 {
		data, err := c.eng.ReadAt(ctx, stream, c.last)
		if err != nil {
			return nil, fmt.Errorf("its last record cannot be read: %w", err)
		}
		lastCRC = crc32.Checksum(data, snapshotCRC)
	}
	return snapshotBytes(&c.kd, infos, next, c.last, lastCRC), nil
}

// snapshotEvery is how many bytes of records, at least, are appended
// between two snapshots while the client runs (besides the one at Close):
// after a crash, the open reads at most about this much of the log. A
// snapshot is also at most a quarter of what was appended since the
// previous one, so its cost stays a small share of the writes.
const snapshotEvery = 64 << 20

// snapshotIfDue writes a snapshot once enough was appended since the last
// one. The maintenance goroutine calls it.
func (c *client) snapshotIfDue(ctx context.Context) {
	c.mu.Lock()
	due := !c.closed && c.sinceSnapshot >= max(snapshotEvery, 4*c.snapshotSize)
	c.mu.Unlock()
	if due {
		c.saveSnapshot(ctx)
	}
}

// usage reports the live keys and the disk bytes of the client.
func (c *client) usage() (keys, disk int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(c.kd.live), c.kd.disk
}
