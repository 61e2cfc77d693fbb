// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"fmt"
	"os"
	"path/filepath"
)

// The byte budget across multi-process writers. Each writer publishes the
// bytes of its own shards in its slot file (8 bytes, little-endian, at
// usageOffset) at every change, and counts the directory as its own bytes
// plus what the other slots published, read at every admission. On Unix
// the figures are shared memory (the slot files mapped), so this costs no
// system call; elsewhere a write and a read of the files. A slot whose
// writer died keeps its last figure, which still describes its shards on
// disk, until the next holder of the slot publishes its own. Writers
// together overshoot MaxTotalSize by at most one batch each: the appends
// that passed admission at the same moment in different processes.

const (
	usageOffset = 64
	// usageFileSize is what each slot file is extended to, so that its
	// figure can be mapped before its first holder wrote one.
	usageFileSize = usageOffset + 8
)

// usageCell is one slot's figure: shared memory on Unix (usage_unix.go),
// the slot file elsewhere (usage_windows.go).
type usageCell interface {
	store(v int64)
	load() int64
	close()
}

// usage is a multi-process writer's window on the slots' figures.
type usage struct {
	mine   usageCell
	others []usageCell
}

// openUsage opens the figures of w's slot and of the others in sd.
func openUsage(sd string, w *writerSlot) (*usage, error) {
	u := &usage{}
	for k := range w.slots {
		f := w.f
		if k != w.slot {
			var err error
			if f, err = os.OpenFile(filepath.Join(sd, fmt.Sprintf("slot-%d.lock", k)), os.O_RDWR|os.O_CREATE, 0o600); err != nil {
				u.close()
				return nil, fmt.Errorf("open writer slot %d: %w", k, err)
			}
		}
		cell, err := openUsageCell(f, k != w.slot)
		if err != nil {
			if k != w.slot {
				_ = f.Close()
			}
			u.close()
			return nil, fmt.Errorf("map writer slot %d: %w", k, err)
		}
		if k == w.slot {
			u.mine = cell
		} else {
			u.others = append(u.others, cell)
		}
	}
	return u, nil
}

func (u *usage) close() {
	if u.mine != nil {
		u.mine.close()
	}
	for _, c := range u.others {
		c.close()
	}
}

// publish makes own, this writer's bytes, the slot's figure.
func (u *usage) publish(own int64) { u.mine.store(own) }

// foreign returns the sum of the other slots' figures.
func (u *usage) foreign() int64 {
	var sum int64
	for _, c := range u.others {
		sum += c.load()
	}
	return sum
}

// budgetBytes is what the byte budget counts: the directory's segment
// bytes; for a multi-process writer, its own plus the other writers'.
func (c *Client) budgetBytes() int64 {
	if c.slot == nil {
		return c.diskBytes.Load()
	}
	return c.ownBytes.Load() + c.slot.usage.foreign()
}

// noteOwnBytes counts n bytes more (or fewer) in this writer's shards and
// publishes the figure for the other writers.
func (c *Client) noteOwnBytes(n int64) {
	own := c.ownBytes.Add(n)
	if c.slot != nil {
		c.slot.usage.publish(own)
	}
}
