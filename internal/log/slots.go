// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Multi-process writers (ConcurrencyConfig.EnableMultiProcessMode). Each
// writer process holds comet.lock shared (so a single-mode writer, or a
// reader reclaiming segments, cannot take it while any runs) and one slot
// of the pool, <dataDir>/comet.slots/slot-K.lock, locked exclusively: the
// first free K of 0..ProcessSlots-1, so the slot of a process that died
// goes to the next one that opens. The slot owns the shards s with
// s % ProcessSlots == K: this process appends only to them, repairs them
// at open (the engine's usual recovery, also of what a dead predecessor
// left), and runs retention on them; it reads the others as a ReadOnly
// client does, picking up their writers' appends when its consumers read.
// comet.slots/slots records the pool size; a writer with another
// ProcessSlots is refused.

const (
	slotsDirName        = "comet.slots"
	slotCountFileName   = "slots"
	defaultProcessSlots = 4
	maxProcessSlots     = 1024
)

// ErrNotOwner is returned (wrapped) by an append to a shard that belongs
// to another writer slot in multi-process mode.
var ErrNotOwner = errors.New("comet: the shard belongs to another writer process")

// writerSlot is the slot this process holds.
type writerSlot struct {
	f     *os.File
	slot  int
	slots int
	usage *usage // the other slots' published bytes (usage.go)
}

// acquireSlot takes the first free slot of dir's pool of slots.
func acquireSlot(dir string, slots int, mode, dirMode os.FileMode) (*writerSlot, error) {
	sd := filepath.Join(dir, slotsDirName)
	if err := os.MkdirAll(sd, dirMode); err != nil {
		return nil, fmt.Errorf("create %s: %w", sd, err)
	}
	if err := checkSlotCount(sd, slots, mode); err != nil {
		return nil, err
	}
	var holders []string
	for k := range slots {
		path := filepath.Join(sd, fmt.Sprintf("slot-%d.lock", k))
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, mode)
		if err != nil {
			return nil, fmt.Errorf("open writer slot %s: %w", path, err)
		}
		held, err := tryLockFile(f)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("lock writer slot %s: %w", path, err)
		}
		if held {
			holders = append(holders, readLockHolder(f))
			_ = f.Close()
			continue
		}
		// The PID line, padded with spaces to usageOffset: the slot's
		// usage figure follows (usage.go).
		pid := fmt.Sprintf("%-*s", usageOffset, strconv.Itoa(os.Getpid())+"\n")
		_, _ = f.WriteAt([]byte(pid), 0)
		w := &writerSlot{f: f, slot: k, slots: slots}
		if w.usage, err = openUsage(sd, w); err != nil {
			_ = f.Close()
			return nil, err
		}
		return w, nil
	}
	return nil, fmt.Errorf("%w: all %d writer slots of %s are held (by processes %s); raise Concurrency.ProcessSlots for every writer, or stop one",
		ErrLocked, slots, dir, strings.Join(holders, ", "))
}

// checkSlotCount records the pool size, or refuses a writer whose
// ProcessSlots differs from the one recorded: the writers would disagree
// on which shards are whose. The first writer creates the file
// exclusively; one that finds it being written reads it again.
func checkSlotCount(sd string, slots int, mode os.FileMode) error {
	path := filepath.Join(sd, slotCountFileName)
	var content []byte
	for attempt := 0; ; attempt++ {
		b, err := readSmallFile(path, 64)
		if errors.Is(err, os.ErrNotExist) {
			err = createExclusive(path, []byte(strconv.Itoa(slots)+"\n"), mode)
			if err == nil || errors.Is(err, os.ErrExist) {
				continue // read back what we, or another writer, wrote
			}
			return fmt.Errorf("record writer slots in %s: %w", path, err)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		content = b
		line, complete := strings.CutSuffix(string(b), "\n")
		if recorded, err := strconv.Atoi(line); complete && err == nil {
			if recorded != slots {
				return fmt.Errorf("Concurrency.ProcessSlots is %d, but the writers of this directory use %d (%s)", slots, recorded, path)
			}
			return nil
		}
		if attempt >= 20 {
			return fmt.Errorf("%s: not a slot count: %q", path, content)
		}
		time.Sleep(10 * time.Millisecond) // being written by another writer
	}
}

// createExclusive writes a new file at path, failing with os.ErrExist if
// there is one.
func createExclusive(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// release gives the slot back.
func (w *writerSlot) release() error {
	w.usage.close()
	return w.f.Close()
}

// acquireSharedDirLock takes comet.lock shared for a multi-process writer,
// waiting up to dirLockWait for an exclusive holder (a reader reclaiming
// segments) to finish.
func acquireSharedDirLock(dir string, mode os.FileMode) (*dirLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, mode)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	if err := lockSharedWaiting(f, dirLockWait); err != nil {
		holder := readLockHolder(f)
		_ = f.Close()
		return nil, fmt.Errorf("%w: lock file %s is held by process %s, a writer not in multi-process mode; every writer of a directory must enable it", ErrLocked, path, holder)
	}
	return &dirLock{f: f}, nil
}

// ownsShard reports whether this client may append to shard id.
func (c *Client) ownsShard(id uint32) bool {
	return !c.readOnly && (c.slot == nil || int(id%uint32(c.slot.slots)) == c.slot.slot)
}

// OwnedShards returns the shards among 0..count-1 this client may append
// to: all of them for a single writer, its slot's share in multi-process
// mode, none for a ReadOnly client.
func (c *Client) OwnedShards(count uint32) []uint32 {
	var out []uint32
	for id := range count {
		if c.ownsShard(id) {
			out = append(out, id)
		}
	}
	return out
}
