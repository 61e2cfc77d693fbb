// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"sync"
	"sync/atomic"
)

// maxOpenFiles bounds the segment read descriptors a client keeps open.
const maxOpenFiles = 64

// fileCache keeps segment read descriptors open after their last reader
// released them, so a consumer resuming a read or a random ReadAt does not
// reopen the file every time. When more than maxOpenFiles are open, the
// least recently used idle one is closed as the next one opens; a deleted
// segment's descriptor is closed as soon as nobody reads it, so its disk
// space is freed. Readers touch only an atomic clock; the lock is taken
// when a descriptor opens or closes.
type fileCache struct {
	clock atomic.Uint64
	mu    sync.Mutex
	open  map[*segment]struct{} // segments with an open read descriptor
}

func newFileCache() *fileCache { return &fileCache{open: map[*segment]struct{}{}} }

// tick returns a new use time.
func (fc *fileCache) tick() uint64 { return fc.clock.Add(1) }

// opened records seg's new descriptor and picks an idle one to close if
// too many are open. The caller closes the victim (outside seg's lock).
func (fc *fileCache) opened(seg *segment) (victim *segment) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.open[seg] = struct{}{}
	if len(fc.open) <= maxOpenFiles {
		return nil
	}
	oldest := ^uint64(0)
	for s := range fc.open {
		if used := s.lastUse.Load(); s != seg && used < oldest {
			victim, oldest = s, used
		}
	}
	delete(fc.open, victim)
	return victim
}

// closed forgets seg's descriptor.
func (fc *fileCache) closed(seg *segment) {
	fc.mu.Lock()
	delete(fc.open, seg)
	fc.mu.Unlock()
}

// closeAll closes every idle descriptor (Client.Close).
func (fc *fileCache) closeAll() {
	fc.mu.Lock()
	open := make([]*segment, 0, len(fc.open))
	for seg := range fc.open {
		open = append(open, seg)
	}
	clear(fc.open)
	fc.mu.Unlock()
	for _, seg := range open {
		seg.closeIfIdle()
	}
}
