// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// slowSync is the fsync duration above which a warning is logged.
const slowSync = time.Second

// durability tracks what of a shard is on stable storage and runs group
// commit: the first appender that needs an fsync performs it for everyone
// waiting, and appends that arrive meanwhile are covered by the next one.
type durability struct {
	// written counts bytes ever written to the shard: an append's position
	// in this sequence says which fsync covers it.
	written  atomic.Int64
	dirDirty atomic.Bool // a segment file was created and its directory not yet synced

	// syncMu serialises fsyncs of the writer handle with the hand-over of
	// that handle at rotation.
	syncMu sync.Mutex

	// unsynced lists segments sealed under SyncNone without an fsync: an
	// explicit Sync or Close covers them too. Guarded by syncMu.
	unsynced []*segment

	mu          sync.Mutex
	cond        *sync.Cond
	synced      int64 // written position covered by the last fsync
	syncedEntry int64 // entry number the last fsync covered up to (exclusive)
	syncing     bool
	err         error // sticky: after a failed fsync nothing is known durable
}

func (d *durability) init() { d.cond = sync.NewCond(&d.mu) }

// markSynced records that everything up to written position pos and entry
// number entry is durable.
func (d *durability) markSynced(pos, entry int64) {
	d.mu.Lock()
	if pos > d.synced {
		d.synced = pos
	}
	if entry > d.syncedEntry {
		d.syncedEntry = entry
	}
	d.mu.Unlock()
	d.cond.Broadcast()
}

// fail records a failed fsync of stream: nothing written since can be
// promised durable, so every later wait reports it.
func (d *durability) fail(stream string, err error) {
	d.mu.Lock()
	d.failLocked(stream, err)
	d.mu.Unlock()
	d.cond.Broadcast()
}

// failLocked is fail with d.mu held; the first failure is the one kept.
func (d *durability) failLocked(stream string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("fsync of %s failed; durability of later appends cannot be promised until the log is reopened: %w", stream, err)
	}
}

// unsyncedEntries is how many entries an fsync has not covered yet.
func (s *shard) unsyncedEntries() int64 {
	s.dur.mu.Lock()
	defer s.dur.mu.Unlock()
	return s.next.Load() - s.dur.syncedEntry
}

// waitSynced returns once an fsync covering written position pos has
// completed, performing it if no other goroutine is.
func (s *shard) waitSynced(pos int64) error {
	d := &s.dur
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.synced < pos {
		if d.err != nil {
			return d.err
		}
		if d.syncing {
			d.cond.Wait()
			continue
		}
		d.syncing = true
		d.mu.Unlock()
		target, entry, err := s.syncWriter()
		d.mu.Lock()
		d.syncing = false
		if err != nil {
			d.failLocked(s.name, err)
		} else {
			s.c.stats.fsyncedEntries.Add(max(entry-d.syncedEntry, 0))
			d.synced = max(d.synced, target)
			d.syncedEntry = max(d.syncedEntry, entry)
		}
		d.cond.Broadcast()
	}
	return nil
}

// syncWriter fsyncs the active segment (and the directory when a segment
// was created) and returns the written position and entry it covers.
func (s *shard) syncWriter() (pos, entry int64, err error) {
	d := &s.dur
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	// Read the targets before the handle: if a rotation happens after
	// this, the old segment was synced by the rotation itself.
	pos, entry = d.written.Load(), s.next.Load()
	if err := s.syncSealed(); err != nil {
		return 0, 0, err
	}
	if d.dirDirty.Swap(false) {
		if err := syncDir(s.dir); err != nil {
			d.dirDirty.Store(true)
			return 0, 0, err
		}
	}
	if s.w == nil {
		return pos, entry, nil
	}
	return pos, entry, s.c.timedSync(s.w, s.name)
}

// syncSealed fsyncs the segments rotated under SyncNone since the last
// sync (deleted ones need nothing). The caller holds syncMu.
func (s *shard) syncSealed() error {
	d := &s.dur
	for len(d.unsynced) > 0 {
		// A handle opened for writing: some systems (Windows) refuse to
		// flush a read-only one.
		f, err := os.OpenFile(d.unsynced[0].path, os.O_WRONLY, 0)
		if err == nil {
			err = s.c.timedSync(f, s.name)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		} else if errors.Is(err, os.ErrNotExist) {
			err = nil // deleted: nothing to sync
		}
		if err != nil {
			return err
		}
		d.unsynced = d.unsynced[1:]
	}
	d.unsynced = nil
	return nil
}

// timedSync fsyncs f, recording the duration and warning when slow.
func (c *Client) timedSync(f *os.File, what string) error {
	start := time.Now()
	err := datasync(f)
	elapsed := time.Since(start)
	c.stats.fsyncs.Add(1)
	c.stats.fsyncNanos.Add(int64(elapsed))
	if elapsed > slowSync {
		c.log.Warn("Slow fsync", zap.String("stream", what), zap.Duration("duration", elapsed))
	}
	if err != nil {
		c.stats.errors.Add(1)
		c.log.Error("fsync failed", zap.String("stream", what), zap.Error(err))
	}
	return err
}
