// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"
	"os"

	"go.uber.org/zap"
)

// An active segment's checkpoint is its index file written at Close: the
// next open trusts the records it describes (after the same one-read
// check as a sealed segment's index) and scans only what was appended
// after it. It has the name and format of a sealed segment's index; it is
// replaced by the full index when the segment is sealed. After a crash
// the checkpoint of the last clean Close (or none) bounds the scan.

// checkpointActiveSegments writes the index of each shard's active
// segment as it stands. Close calls it once everything appended is
// durable, so the checkpoint is fsynced too; a shard whose fsync failed
// gets none, since its data on disk may not be what its page cache held.
// A failure only costs a scan at the next open.
func (c *Client) checkpointActiveSegments() {
	if c.readOnly {
		return
	}
	for _, s := range c.allShards() {
		s.mu.Lock()
		s.dur.mu.Lock()
		healthy := s.dur.err == nil && s.broken == nil && s.w != nil
		s.dur.mu.Unlock()
		if seg := s.active(); healthy && seg.size.Load() > 0 {
			s.writeIndex(seg, true)
		}
		s.mu.Unlock()
	}
}

// dropStaleCheckpoint removes the checkpoint of an active segment that no
// longer describes it (a crash cut the segment below it), so that no
// reader trusts it once the writer appends past it again.
func (s *shard) dropStaleCheckpoint(seg *segment, cause error) {
	if s.readOnly || errors.Is(cause, os.ErrNotExist) {
		return
	}
	s.c.log.Debug("Scanning the active segment: its checkpoint does not describe it",
		zap.String("file", seg.idxPath), zap.Error(cause))
	if err := os.Remove(seg.idxPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.c.log.Warn("Could not remove a stale checkpoint", zap.String("file", seg.idxPath), zap.Error(err))
	}
}
