// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"sync/atomic"
	"time"
)

// CometStats is a snapshot of a Client's counters since it was opened, and
// of its current disk state. Counters are cheap atomics on the hot path.
type CometStats struct {
	TotalEntries      int64 // entries appended
	TotalBytes        int64 // entry bytes appended, before compression
	WrittenBytes      int64 // bytes written to segments: headers and stored payloads
	CompressedEntries int64 // entries stored compressed

	Rotations      int64         // segments sealed
	Fsyncs         int64         // fsyncs of segment data
	FsyncedEntries int64         // entries covered by group-commit fsyncs
	FsyncTime      time.Duration // total time spent in those fsyncs

	Truncations    int64 // torn tails cut at open
	TruncatedBytes int64
	CorruptEntries int64 // damaged records skipped (never returned as data)
	LostEntries    int64 // entries consumers could not read: damage or deletion past their offset
	Errors         int64 // I/O errors, whether returned or handled

	DiskUsage         int64 // bytes in segment files
	SegmentCount      int64
	ShardCount        int64
	DeletedFiles      int64 // segments removed by retention or drop_oldest
	DeletedEntries    int64
	DroppedUnconsumed int64 // of those, entries some group had not acknowledged
	FullRejections    int64 // appends refused with ErrFull
	FullWaits         int64 // appends that waited for space

	Groups []GroupStats // consumer groups known on this client's shards
}

// GroupStats is the position of one consumer group on one shard.
type GroupStats struct {
	Stream  string // canonical stream name of the shard
	Group   string
	Offset  int64 // next entry the group will read
	Lag     int64 // entries appended and not yet acknowledged
	Dropped int64 // entries deleted before the group acknowledged them
}

// counters are the client's live statistics.
type counters struct {
	entries, bytes, written, compressed               atomic.Int64
	rotations, fsyncs, fsyncedEntries, fsyncNanos     atomic.Int64
	truncations, truncatedBytes, corruptEntries, lost atomic.Int64
	errors                                            atomic.Int64
	deletedFiles, deletedEntries, droppedUnconsumed   atomic.Int64
	fullRejections, fullWaits                         atomic.Int64
}

func (st *counters) noteAppend(n int, b *batch) {
	st.entries.Add(int64(n))
	st.bytes.Add(b.raw)
	st.written.Add(int64(len(b.buf)))
	if b.zipped > 0 {
		st.compressed.Add(b.zipped)
	}
}

// GetStats returns the current counters, disk usage and group positions.
// It reads every group's offset, so call it at telemetry intervals, not
// per entry.
func (c *Client) GetStats() CometStats {
	out := c.Counters()
	for _, s := range c.allShards() {
		out.Groups = append(out.Groups, s.groups.stats()...)
	}
	return out
}

// Counters returns GetStats without Groups: counters and the disk state
// kept in memory, with no file access.
func (c *Client) Counters() CometStats {
	st := &c.stats
	out := CometStats{
		TotalEntries:      st.entries.Load(),
		TotalBytes:        st.bytes.Load(),
		WrittenBytes:      st.written.Load(),
		CompressedEntries: st.compressed.Load(),
		Rotations:         st.rotations.Load(),
		Fsyncs:            st.fsyncs.Load(),
		FsyncedEntries:    st.fsyncedEntries.Load(),
		FsyncTime:         time.Duration(st.fsyncNanos.Load()),
		Truncations:       st.truncations.Load(),
		TruncatedBytes:    st.truncatedBytes.Load(),
		CorruptEntries:    st.corruptEntries.Load(),
		LostEntries:       st.lost.Load(),
		Errors:            st.errors.Load(),
		DiskUsage:         c.diskBytes.Load(),
		DeletedFiles:      st.deletedFiles.Load(),
		DeletedEntries:    st.deletedEntries.Load(),
		DroppedUnconsumed: st.droppedUnconsumed.Load(),
		FullRejections:    st.fullRejections.Load(),
		FullWaits:         st.fullWaits.Load(),
	}
	for _, s := range c.allShards() {
		out.ShardCount++
		out.SegmentCount += int64(len(s.segments()))
	}
	return out
}
