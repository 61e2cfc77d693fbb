// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"
)

// CometConfig configures a Client. Start from DefaultCometConfig and change
// what you need: a zero field is not always a sensible value.
type CometConfig struct {
	Compression CompressionConfig
	Indexing    IndexingConfig
	Storage     StorageConfig
	Concurrency ConcurrencyConfig
	Retention   RetentionConfig
	Durability  DurabilityConfig

	// Logger receives lifecycle messages, warnings about recovered
	// corruption (with file and offset) and errors about lost data.
	// Nil means no logging.
	Logger *zap.Logger
}

// Codec names the compression applied to large entries.
type Codec int

const (
	// CodecNone stores every entry as given.
	CodecNone Codec = iota
	// CodecZstd compresses entries of at least MinCompressSize bytes with
	// zstd, keeping the compressed form only when it saves at least 10%.
	CodecZstd
)

// CompressionConfig controls per-entry compression.
type CompressionConfig struct {
	Codec Codec
	// MinCompressSize is the smallest entry, in bytes, that is compressed.
	// Smaller entries are stored raw.
	MinCompressSize int
	// BacklogThreshold, when positive, stores entries raw while every
	// consumer group of the shard (loaded in this process) is within this
	// many bytes of its end: they are read back from the page cache within
	// moments and deleted, so compressing them would only cost CPU. Once a
	// backlog builds (no group, a slow or stopped consumer), entries are
	// compressed again. 0: compress whatever the backlog.
	BacklogThreshold int64
}

// IndexingConfig controls the sparse index kept per segment.
type IndexingConfig struct {
	// BoundaryInterval is the number of entries between two index points:
	// a reader seeking to an entry scans at most this many records.
	BoundaryInterval int
	// MaxIndexEntries caps the index points of one segment. When a segment
	// would exceed it, every other point is dropped and the interval
	// doubles, so memory stays bounded for segments of tiny entries.
	MaxIndexEntries int
}

// StorageConfig controls files on disk.
type StorageConfig struct {
	// MaxFileSize is the segment size, in bytes, at which the active
	// segment is sealed and a new one started. A single batch larger than
	// this goes into a segment of its own.
	MaxFileSize int64
	// CheckpointTime is how often, in milliseconds, consumer offsets are
	// flushed to stable storage in the background. Offsets are also
	// flushed on Sync, on Close, and before retention deletes a segment
	// because they allow it.
	CheckpointTime int
	// MaxEntrySize is the largest entry Append accepts, in bytes.
	MaxEntrySize int
	// DirMode and FileMode are the permissions of created directories and
	// files (before umask).
	DirMode  os.FileMode
	FileMode os.FileMode
}

// ConcurrencyConfig controls how processes share a data directory.
type ConcurrencyConfig struct {
	// EnableMultiProcessMode lets several writer processes share the
	// directory: each takes one of ProcessSlots slots and appends only to
	// the shards s with s % ProcessSlots == its slot (see slots.go). Every
	// writer of a directory must use the same ProcessSlots.
	EnableMultiProcessMode bool
	// ProcessSlots is the number of writer slots in multi-process mode
	// (default 4): at most that many writer processes at once.
	ProcessSlots int
	// ReadOnly opens the directory without taking the writer lock, for
	// consumers in a process other than the writer's. Append fails with
	// ErrReadOnly; nothing is repaired or deleted; new entries and
	// segments written by the writer are picked up as consumers poll.
	ReadOnly bool
}

// FullPolicy says what Append does when the size budget is reached and
// retention cannot free space.
type FullPolicy int

const (
	// FullBlock makes Append wait until space is freed or its context ends.
	FullBlock FullPolicy = iota
	// FullReject makes Append fail at once with an error matching ErrFull.
	FullReject
	// FullDropOldest deletes the oldest segment even if it is unconsumed,
	// counting the dropped entries per consumer group.
	FullDropOldest
)

// String returns the name used in configuration files.
func (p FullPolicy) String() string {
	switch p {
	case FullBlock:
		return "block"
	case FullReject:
		return "reject"
	case FullDropOldest:
		return "drop_oldest"
	}
	return fmt.Sprintf("FullPolicy(%d)", int(p))
}

// RetentionConfig controls which sealed segments are deleted. Retention
// deletes whole segments only, oldest first.
type RetentionConfig struct {
	// MaxAge deletes segments whose newest entry is older than this. 0: no limit.
	MaxAge time.Duration
	// MaxTotalSize is the byte budget of the whole directory. 0: no limit.
	MaxTotalSize int64
	// MaxShardSize is the byte budget of one shard. 0: no limit.
	MaxShardSize int64
	// CleanupInterval is how often retention runs in the background.
	// Append also runs it at once when a budget is exceeded.
	CleanupInterval time.Duration
	// MinFilesToKeep is the number of newest segments per shard retention
	// never deletes (the active segment counts).
	MinFilesToKeep int
	// ProtectUnconsumed keeps a segment until every consumer group of its
	// shard has acknowledged all of it. A shard no group has touched yet
	// is unconsumed as a whole.
	ProtectUnconsumed bool
	// ForceDeleteAfter lets retention delete a protected segment once its
	// newest entry is older than this, counting the entries each group
	// loses. 0: never.
	ForceDeleteAfter time.Duration
	// WhenFull is applied when a size budget is exceeded and retention
	// cannot free space.
	WhenFull FullPolicy
	// DeleteConsumed deletes a sealed segment as soon as every group of
	// its shard has acknowledged all of it, without waiting for a limit.
	// Off, consumed data stays for replay until MaxAge or a budget.
	DeleteConsumed bool
}

// SyncMode is the fsync policy.
type SyncMode int

const (
	// SyncNone never fsyncs on the append path: entries survive a process
	// crash (they are in the page cache) but may be lost on power loss.
	SyncNone SyncMode = iota
	// SyncInterval fsyncs every Interval and whenever MaxPendingEntries
	// entries are unsynced: the loss window on power failure.
	SyncInterval
	// SyncAlways makes Append return only after an fsync that covers its
	// entries; concurrent appends share one fsync (group commit).
	SyncAlways
)

// String returns the name used in configuration files.
func (m SyncMode) String() string {
	switch m {
	case SyncNone:
		return "none"
	case SyncInterval:
		return "interval"
	case SyncAlways:
		return "always"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// DurabilityConfig is the fsync policy of appends.
type DurabilityConfig struct {
	Mode SyncMode
	// Interval bounds, under SyncInterval, the time an entry stays unsynced.
	Interval time.Duration
	// MaxPendingEntries bounds, under SyncInterval, how many entries of a
	// shard may be unsynced: the append that reaches it waits for an
	// fsync. 0: no bound by count.
	MaxPendingEntries int
}

const (
	defaultMaxFileSize  = 64 << 20
	defaultMaxEntrySize = 64 << 20
	// hardMaxEntrySize bounds the length field accepted when reading, so a
	// corrupt length never makes us allocate absurd amounts of memory.
	hardMaxEntrySize = 1 << 30
)

// DefaultCometConfig returns the configuration NewClient uses when given
// none: 64 MiB segments, zstd for entries of 4 KiB and more, fsync every
// second, unconsumed data protected, no size or age limit.
func DefaultCometConfig() CometConfig {
	return CometConfig{
		Compression: CompressionConfig{Codec: CodecZstd, MinCompressSize: 4096},
		Indexing:    IndexingConfig{BoundaryInterval: 128, MaxIndexEntries: 1 << 16},
		Storage: StorageConfig{
			MaxFileSize:    defaultMaxFileSize,
			CheckpointTime: 1000,
			MaxEntrySize:   defaultMaxEntrySize,
			DirMode:        0o700,
			FileMode:       0o600,
		},
		Retention: RetentionConfig{
			CleanupInterval:   time.Minute,
			MinFilesToKeep:    1,
			ProtectUnconsumed: true,
			WhenFull:          FullBlock,
		},
		Durability: DurabilityConfig{Mode: SyncInterval, Interval: time.Second, MaxPendingEntries: 10000},
	}
}

// validate reports the first setting that cannot work, naming it.
func (c *CometConfig) validate() error {
	switch {
	case c.Compression.Codec != CodecNone && c.Compression.Codec != CodecZstd:
		return fmt.Errorf("Compression.Codec: unknown codec %d", c.Compression.Codec)
	case c.Compression.MinCompressSize < 0:
		return fmt.Errorf("Compression.MinCompressSize must not be negative, got %d", c.Compression.MinCompressSize)
	case c.Compression.BacklogThreshold < 0:
		return fmt.Errorf("Compression.BacklogThreshold must not be negative, got %d", c.Compression.BacklogThreshold)
	case c.Indexing.BoundaryInterval < 1:
		return fmt.Errorf("Indexing.BoundaryInterval must be at least 1, got %d", c.Indexing.BoundaryInterval)
	case c.Indexing.MaxIndexEntries < 2:
		return fmt.Errorf("Indexing.MaxIndexEntries must be at least 2, got %d", c.Indexing.MaxIndexEntries)
	case c.Storage.MaxFileSize < 1:
		return fmt.Errorf("Storage.MaxFileSize must be positive, got %d", c.Storage.MaxFileSize)
	case c.Storage.CheckpointTime < 0:
		return fmt.Errorf("Storage.CheckpointTime must not be negative, got %d", c.Storage.CheckpointTime)
	case c.Storage.MaxEntrySize < 1 || c.Storage.MaxEntrySize > hardMaxEntrySize:
		return fmt.Errorf("Storage.MaxEntrySize must be between 1 and %d, got %d", hardMaxEntrySize, c.Storage.MaxEntrySize)
	case c.Concurrency.EnableMultiProcessMode && c.Concurrency.ReadOnly:
		return fmt.Errorf("Concurrency: EnableMultiProcessMode is for writers; a ReadOnly client reads every writer's shards without it")
	case c.Concurrency.ProcessSlots < 0 || c.Concurrency.ProcessSlots > maxProcessSlots:
		return fmt.Errorf("Concurrency.ProcessSlots must be between 0 (%d) and %d, got %d", defaultProcessSlots, maxProcessSlots, c.Concurrency.ProcessSlots)
	case c.Retention.MaxAge < 0 || c.Retention.ForceDeleteAfter < 0 || c.Retention.CleanupInterval < 0:
		return fmt.Errorf("Retention: MaxAge, ForceDeleteAfter and CleanupInterval must not be negative")
	case c.Retention.MaxTotalSize < 0 || c.Retention.MaxShardSize < 0:
		return fmt.Errorf("Retention: MaxTotalSize and MaxShardSize must not be negative")
	case c.Retention.MinFilesToKeep < 1:
		return fmt.Errorf("Retention.MinFilesToKeep must be at least 1 (the active segment), got %d", c.Retention.MinFilesToKeep)
	case c.Retention.WhenFull < FullBlock || c.Retention.WhenFull > FullDropOldest:
		return fmt.Errorf("Retention.WhenFull: unknown policy %d", c.Retention.WhenFull)
	case c.Durability.Mode < SyncNone || c.Durability.Mode > SyncAlways:
		return fmt.Errorf("Durability.Mode: unknown mode %d", c.Durability.Mode)
	case c.Durability.Mode == SyncInterval && c.Durability.Interval <= 0:
		return fmt.Errorf("Durability.Interval must be positive under SyncInterval, got %s", c.Durability.Interval)
	case c.Durability.MaxPendingEntries < 0:
		return fmt.Errorf("Durability.MaxPendingEntries must not be negative, got %d", c.Durability.MaxPendingEntries)
	}
	return nil
}

// withDefaults fills sizes, permissions and intervals left at zero, so a
// partly filled config works. Booleans cannot be defaulted this way: start
// from DefaultCometConfig to get ProtectUnconsumed.
func (c CometConfig) withDefaults() CometConfig {
	if c.Indexing.BoundaryInterval == 0 {
		c.Indexing.BoundaryInterval = 128
	}
	if c.Indexing.MaxIndexEntries == 0 {
		c.Indexing.MaxIndexEntries = 1 << 16
	}
	if c.Storage.MaxFileSize == 0 {
		c.Storage.MaxFileSize = defaultMaxFileSize
	}
	if c.Concurrency.EnableMultiProcessMode && c.Concurrency.ProcessSlots == 0 {
		c.Concurrency.ProcessSlots = defaultProcessSlots
	}
	if c.Durability.Mode == SyncInterval && c.Durability.Interval == 0 {
		c.Durability.Interval = time.Second
	}
	if c.Storage.DirMode == 0 {
		c.Storage.DirMode = 0o700
	}
	if c.Storage.FileMode == 0 {
		c.Storage.FileMode = 0o600
	}
	if c.Storage.MaxEntrySize == 0 {
		c.Storage.MaxEntrySize = defaultMaxEntrySize
	}
	if c.Retention.CleanupInterval == 0 {
		c.Retention.CleanupInterval = time.Minute
	}
	if c.Retention.MinFilesToKeep == 0 {
		c.Retention.MinFilesToKeep = 1
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}
