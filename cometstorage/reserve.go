// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/log"
)

// Full disk. A persistent queue drains by writing: each read updates the queue's metadata key,
// each request sent is deleted. In a log-structured store every write is an append, so on a
// full disk the queue could not drain, and exporterhelper's persistent queue skips the
// requests whose read it cannot record. Each client therefore keeps a reserve: a file of
// reserveSize bytes beside its directory, given up when the disk is full so that the drain
// goes on, and taken back when space returns.
//
//   - The first batch that finds the disk full gives the reserve up and is tried again on its
//     space. As the queue drains, whole segments become garbage and are deleted, which frees
//     space.
//   - While the reserve is given up, batches that add keys may use a quarter of it, plus the
//     bytes of the values deleted since (credit): exporterhelper, when it starts, deletes the
//     requests left in flight and then puts each back under a new key, and these puts should
//     fit. They must also leave drainFloor free on the filesystem (statfs): a client opened on
//     the full disk starts its counts at zero, and a drain without room would make
//     exporterhelper skip its whole queue. Beyond that they fail with storage.ErrStorageFull,
//     writing nothing, and the rest stays for the drain (exporterhelper then loses the
//     in-flight requests it could not put back, and says so: see README.md). A put that the
//     disk refuses although admitted waits for a reclamation round and is tried once more, as
//     a drain batch is.
//   - While the reserve is given up, every eighth of it spent (net of the segments deleted
//     since) starts a reclamation round, and once half of it is spent a batch that adds no key
//     waits for a round before it writes: reclamation keeps room to copy what compaction must
//     copy, and the drain, however fast, cannot spend the reserve before it is reclaimed.
//   - A batch that adds no key and finds the disk full with the reserve given up also waits
//     for a round and is tried once more before it fails: a failed read or delete makes
//     exporterhelper skip or keep a request. Waits are bounded by reclaimWait and the
//     batch's context.
//   - While the reserve is given up, compaction copies only segments that are nearly all
//     garbage (see maintain), and each round takes the reserve back once there is room.
//
// The operator hears of it once (diskFull): "Disk full" at the first write the disk refused,
// "Disk space available again" once writes that add keys have been accepted for
// diskFullSettle with the reserve held.

// reserveFileSuffix names a client's reserve, "<client directory>.reserve", beside the client
// directory in the extension's directory, never inside the engine's. Client directory names
// never hold ".re" (their escapes are '.' and two hex digits), so a reserve is never named
// like a client directory.
const reserveFileSuffix = ".reserve"

// reserveSize is the reserve of a client with the given segment size: one segment. The
// drain's three quarters of it let a full segment of requests of about 1.1 KiB or more be
// drained before it is deleted (exporterhelper v0.165 writes about 850 bytes of records per
// request drained: two metadata updates and the delete); with half a segment, a queue
// restarted on the full disk stalled in the testbed.
func reserveSize(segmentSize int64) int64 { return segmentSize }

// diskFullSettle is how long writes that add keys must be accepted, without a refusal, before
// the disk counts as no longer full.
var diskFullSettle = 5 * time.Second

type reserveState int

const (
	reserveNone    reserveState = iota // no reserve: it could not be made for another reason than space
	reserveHeld                        // the file holds size bytes
	reserveGivenUp                     // given up for a full disk; taken back when there is room
)

// reserve is a client's disk-full reserve. Its fields are guarded by the client's mu; the file
// is written outside it (see client.retakeReserve).
type reserve struct {
	path  string
	size  int64
	state reserveState
	// added is the bytes of batches adding keys appended since the reserve was given up.
	added int64
	// spent is the bytes of all batches appended since the reserve was given up.
	spent int64
	// credit is the bytes of values deleted since the reserve was given up: room for the
	// puts that bring deleted requests back (see admits).
	credit int64
}

// admits reports whether a batch of n bytes that adds keys may be appended.
// With the reserve given up, the counts above decide, and so does the
// filesystem: the batch must leave drainFloor of the reserve free, since
// the counts start again at zero when the client opens on a full disk and
// do not see what the filesystem spends beside the records (index files,
// partly used blocks).
func (r *reserve) admits(n int64) bool {
	if r.state != reserveGivenUp {
		return true
	}
	if r.added+n > r.size/4+r.credit {
		return false
	}
	free, err := freeBytes(filepath.Dir(r.path))
	return err != nil || free-n >= r.drainFloor()
}

// drainFloor is the free space batches that add keys leave, with the
// reserve given up, to reads, deletes and compaction.
func (r *reserve) drainFloor() int64 { return r.size / 4 }

// deleted notes n bytes of values deleted while the reserve is given up.
func (r *reserve) deleted(n int64) {
	if r.state == reserveGivenUp {
		r.credit += n
	}
}

// charge counts an appended batch of n bytes. It reports whether, with the reserve given up,
// the batch took spending past another eighth of the reserve: time for a reclamation round
// before the drain runs out of space (see client.batchLocked).
func (r *reserve) charge(n int64, addsKey bool) (reclaimNow bool) {
	if r.state != reserveGivenUp {
		return false
	}
	if addsKey {
		r.added += n
	}
	step := max(r.size/8, 1)
	before := r.spent / step
	r.spent += n
	return r.spent/step != before
}

// freed notes n bytes of segments deleted while the reserve is given up: room the drain may
// write on again.
func (r *reserve) freed(n int64) {
	if r.state == reserveGivenUp {
		r.spent = max(r.spent-n, 0)
	}
}

// tight reports whether half of the given-up reserve is spent: a batch waits for a
// reclamation round before it takes more, so that compaction keeps room to copy what it must.
func (r *reserve) tight() bool {
	return r.state == reserveGivenUp && r.spent >= r.size/2
}

// giveUp deletes the reserve file, if held, and reports whether it did: its space is free
// for the batch that found the disk full.
func (r *reserve) giveUp() (bool, error) {
	if r.state != reserveHeld {
		return false, nil
	}
	r.state, r.added, r.spent, r.credit = reserveGivenUp, 0, 0, 0
	if err := os.Remove(r.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("comet_storage: give up the disk-full reserve %s: %w", r.path, err)
	}
	return true, nil
}

// makeReserveFile writes a file of size bytes at path (written, not sparse, so that its space
// is allocated). On failure the partial file is removed and the error returned: wrapping
// log.ErrNoSpace when the disk is full.
func makeReserveFile(path string, size int64) error {
	if st, err := os.Stat(path); err == nil && st.Size() == size {
		return nil // kept from the previous run
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return reserveError(path, err)
	}
	zeros := make([]byte, min(size, 64<<10))
	for left := size; left > 0 && err == nil; left -= int64(len(zeros)) {
		_, err = f.Write(zeros[:min(left, int64(len(zeros)))])
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return reserveError(path, err)
	}
	return nil
}

func reserveError(path string, err error) error {
	if log.IsNoSpace(err) {
		return fmt.Errorf("%w: disk-full reserve %s: %w", log.ErrNoSpace, path, err)
	}
	return fmt.Errorf("comet_storage: disk-full reserve %s: %w", path, err)
}

// openReserve makes the client's reserve, or notes that the disk is too full for it.
func (c *client) openReserve() {
	c.res = reserve{path: c.dir + reserveFileSuffix, size: reserveSize(c.set.segmentSize)}
	err := makeReserveFile(c.res.path, c.res.size)
	switch {
	case err == nil:
		c.res.state = reserveHeld
	case errors.Is(err, log.ErrNoSpace):
		c.res.state = reserveGivenUp
		c.diskFullRaised(err)
	default:
		c.log.Warn("No disk-full reserve: on a full disk this client may not be able to drain", zap.Error(err))
	}
}

// retakeReserve takes the reserve back when it was given up and there is room again; the file
// is written without holding the client's lock.
func (c *client) retakeReserve() {
	c.mu.Lock()
	givenUp := c.res.state == reserveGivenUp && !c.closed
	c.mu.Unlock()
	if !givenUp {
		return
	}
	if err := makeReserveFile(c.res.path, c.res.size); err != nil {
		if !errors.Is(err, log.ErrNoSpace) {
			c.log.Warn("Could not take the disk-full reserve back; retrying", zap.Error(err))
		}
		return
	}
	c.mu.Lock()
	c.res.state, c.res.added, c.res.spent, c.res.credit = reserveHeld, 0, 0, 0
	c.mu.Unlock()
	c.log.Debug("Took the disk-full reserve back", zap.String("file", c.res.path), zap.Int64("bytes", c.res.size))
}

// reserveGivenUpNow reports whether the reserve is given up (compaction then copies nothing).
func (c *client) reserveGivenUpNow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.res.state == reserveGivenUp
}

// diskFullRaised counts a write the full disk refused and says so once per episode.
func (c *client) diskFullRaised(err error) {
	if c.diskFull.Raise() {
		c.log.Error("Disk full: writes that add keys are refused with storage.ErrStorageFull until space is freed (a persistent queue refuses new requests with a retryable error); reads, overwrites and deletes go on, on a reserve kept for them, so the queue keeps draining",
			zap.Int64("reserve_bytes", c.res.size), zap.Error(err))
	}
}

// diskFullCleared notes a write that added keys with the reserve held, and ends the episode
// once such writes have been accepted for diskFullSettle.
func (c *client) diskFullCleared() {
	if n, lasted, ended := c.diskFull.Clear(diskFullSettle); ended {
		c.log.Info("Disk space available again: writes that add keys are accepted",
			zap.Int64("refused_writes", n), zap.Duration("after", lasted))
	}
}

// errDrainNeedsSpace marks a batch that found the disk full with the reserve given up and
// was admitted on it (it adds no key, or its keys fit the reserve): Batch waits for a
// reclamation round and tries it once more.
var errDrainNeedsSpace = errors.New("comet_storage: no space left for a read or delete")

// reclaimWait bounds how long a batch waits for a reclamation round on a full disk.
const reclaimWait = 2 * time.Second

// reclaimRequests lets writers ask the compaction goroutine for a round now and wait for it.
type reclaimRequests struct {
	kick    chan struct{} // capacity 1: a round is asked for
	mu      sync.Mutex
	waiters []chan struct{} // closed when a round that started after they asked has run
}

// take returns the waiters a round about to start will answer.
func (r *reclaimRequests) take() []chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.waiters
	r.waiters = nil
	return w
}

// askReclaim asks the compaction goroutine for a round soon, without waiting for it.
func (c *client) askReclaim() {
	select {
	case c.reclaim.kick <- struct{}{}:
	default: // asked for already
	}
}

// awaitReclaim asks for a reclamation round and waits until one has run, the context ends,
// reclaimWait passes or the client closes.
func (c *client) awaitReclaim(ctx context.Context) error {
	done := make(chan struct{})
	c.reclaim.mu.Lock()
	c.reclaim.waiters = append(c.reclaim.waiters, done)
	c.reclaim.mu.Unlock()
	c.askReclaim() // a round asked for already answers this waiter too
	t := time.NewTimer(reclaimWait)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.stop:
		return errClientClosed
	case <-t.C:
		return fmt.Errorf("comet_storage: no reclamation round within %v", reclaimWait)
	}
}
