// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"
	"fmt"
)

var (
	// ErrFull is returned (wrapped) by Append under FullReject when a size
	// budget is exceeded and retention cannot free space. Callers should
	// retry later; nothing of the rejected batch was written.
	ErrFull = errors.New("comet: log is full")
	// ErrClosed is returned by operations on a closed Client or Consumer.
	ErrClosed = errors.New("comet: closed")
	// ErrReadOnly is returned by Append on a Client opened ReadOnly.
	ErrReadOnly = errors.New("comet: client is read-only")
	// ErrEntryTooLarge is returned (wrapped) by Append for an entry above
	// Storage.MaxEntrySize; nothing of the batch was written.
	ErrEntryTooLarge = errors.New("comet: entry too large")
	// ErrInvalidStream is returned (wrapped) for a stream name that is not
	// "namespace:version:shard:NNNN" with valid parts.
	ErrInvalidStream = errors.New("comet: invalid stream name")
	// ErrLocked is returned (wrapped) by NewClient when another process
	// holds the directory's writer lock.
	ErrLocked = errors.New("comet: data directory is locked by another writer")
	// ErrGroupInUse is returned (wrapped) by LockGroup while a Consumer of
	// the group is open in some process.
	ErrGroupInUse = errors.New("comet: consumer group is in use")

	// ErrNoSpace is returned (wrapped, with the system's error) by Append
	// when the filesystem has no space left for the batch (ENOSPC, EDQUOT;
	// ERROR_DISK_FULL on Windows). Nothing of the batch was written and
	// what was appended before is intact. Consumers keep reading and
	// acknowledging (offsets are overwritten in place), retention deletes
	// what they consumed, and appends succeed again once space is freed:
	// callers should treat it as back-pressure and retry later.
	ErrNoSpace = errors.New("comet: no space left on the device")
	// ErrEntryGone is returned (wrapped) by ReadEntry for an entry that was
	// deleted by retention, lost to corruption, or never written.
	ErrEntryGone = errors.New("comet: entry not available")
)

// CorruptionError describes damaged bytes in a segment file: where they
// are and what is wrong. Recovery logs and counts it; readers skip the
// damaged entries and report it through stats, never as data.
type CorruptionError struct {
	File   string // segment path
	Offset int64  // byte offset of the damaged record in File
	Entry  int64  // entry number of the damaged record, -1 when unknown
	Reason string
}

func (e *CorruptionError) Error() string {
	if e.Entry >= 0 {
		return fmt.Sprintf("comet: corrupt record in %s at offset %d (entry %d): %s", e.File, e.Offset, e.Entry, e.Reason)
	}
	return fmt.Sprintf("comet: corrupt record in %s at offset %d: %s", e.File, e.Offset, e.Reason)
}
