// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import "sync"

// maxIdleFiles bounds the read descriptors a client keeps open for
// segments nobody is reading at the moment.
const maxIdleFiles = 64

// fileCache keeps the read descriptors of recently read segments open
// after their last reader released them, so a consumer resuming a read or
// a random ReadAt does not reopen the file every time. At most
// maxIdleFiles idle descriptors are kept, the least recently used closed
// first; a deleted segment's descriptor is closed as soon as nobody reads
// it, so its disk space is freed.
type fileCache struct {
	mu    sync.Mutex
	clock uint64
	idle  map[*segment]uint64 // idle segment → last use
}

func newFileCache() *fileCache { return &fileCache{idle: map[*segment]uint64{}} }

// keep records seg as idle with an open descriptor, closing the least
// recently used idle descriptor when there are too many.
func (fc *fileCache) keep(seg *segment) {
	fc.mu.Lock()
	fc.clock++
	fc.idle[seg] = fc.clock
	var victim *segment
	if len(fc.idle) > maxIdleFiles {
		oldest := fc.clock
		for s, used := range fc.idle {
			if used < oldest {
				victim, oldest = s, used
			}
		}
		delete(fc.idle, victim)
	}
	fc.mu.Unlock()
	if victim != nil {
		victim.closeIfIdle()
	}
}

// forget drops seg from the idle set (it is being read, or deleted).
func (fc *fileCache) forget(seg *segment) {
	fc.mu.Lock()
	delete(fc.idle, seg)
	fc.mu.Unlock()
}

// closeAll closes every idle descriptor (Client.Close).
func (fc *fileCache) closeAll() {
	fc.mu.Lock()
	idle := make([]*segment, 0, len(fc.idle))
	for seg := range fc.idle {
		idle = append(idle, seg)
	}
	clear(fc.idle)
	fc.mu.Unlock()
	for _, seg := range idle {
		seg.closeIfIdle()
	}
}
