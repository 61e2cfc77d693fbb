// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter // import "github.com/comet-otel/comet/cometexporter"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
)

// PartitionBy chooses the shard of each request (or part of one).
type PartitionBy string

const (
	// PartitionRoundRobin sends each request to the next shard in turn.
	PartitionRoundRobin PartitionBy = "round_robin"
	// PartitionTraceID splits a traces request by trace ID, so all spans
	// of one trace land in one shard. Traces only.
	PartitionTraceID PartitionBy = "trace_id"
	// PartitionResource splits a request by a hash of each resource's
	// attributes, so one resource always lands in one shard.
	PartitionResource PartitionBy = "resource"
)

// SyncMode is when appended records are fsynced.
type SyncMode string

const (
	SyncNone     SyncMode = "none"
	SyncInterval SyncMode = "interval"
	SyncAlways   SyncMode = "always"
)

// WhenFull is what an append does when retention.max_size is reached and
// nothing can be deleted because consumers have not acknowledged it.
type WhenFull string

const (
	WhenFullBlock      WhenFull = "block"
	WhenFullReject     WhenFull = "reject"
	WhenFullDropOldest WhenFull = "drop_oldest"
)

// CompressionType is the codec of large records.
type CompressionType string

const (
	CompressionNone CompressionType = "none"
	CompressionZstd CompressionType = "zstd"
)

const (
	maxShards        = 4096
	minSegmentSize   = 64 << 10
	minRecordSize    = 1 << 10
	maxRecordSizeCap = 1 << 30 // the engine's hard limit on one entry
)

// Config is the configuration of the comet exporter.
type Config struct {
	// Directory holds the log. Components of one collector naming the same
	// directory share one engine client and must configure it identically.
	Directory string `mapstructure:"directory"`
	// Shards is the number of shards per signal: independent logs that
	// appends and receiver workers use in parallel.
	Shards int `mapstructure:"shards"`
	// PartitionBy chooses the shard of a request or of its parts.
	PartitionBy PartitionBy `mapstructure:"partition_by"`
	// SegmentSize is the size in bytes at which a shard's segment file is
	// sealed and a new one started; retention deletes whole segments.
	// 0 derives it from retention.max_size and shards.
	SegmentSize int64 `mapstructure:"segment_size"`
	// MaxRecordSize is the largest record in bytes. A request whose OTLP
	// encoding is larger is split along resource, scope and record
	// boundaries, so the receiver delivers requests no larger than this.
	MaxRecordSize int `mapstructure:"max_record_size"`
	// Sync is the fsync policy.
	Sync SyncConfig `mapstructure:"sync"`
	// Retention bounds the log by age and size.
	Retention RetentionConfig `mapstructure:"retention"`
	// WhenFull is the policy once retention.max_size is reached.
	WhenFull WhenFull `mapstructure:"when_full"`
	// Compression of records.
	Compression CompressionConfig `mapstructure:"compression"`
	// Timeout bounds each request, including a wait under when_full block.
	// 0: no bound beyond the caller's own deadline.
	Timeout time.Duration `mapstructure:"timeout"`
	// MultiProcess lets several collectors write the directory at once:
	// each takes one of process_slots writer slots and appends only to the
	// shards s with s mod process_slots = its slot.
	MultiProcess bool `mapstructure:"multi_process"`
	// ProcessSlots is the number of writer slots with multi_process (0:
	// 4). Every writer of the directory must use the same.
	ProcessSlots int `mapstructure:"process_slots"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SyncConfig is the fsync policy of appends.
type SyncConfig struct {
	// Mode: none (the OS writes back), interval, or always (a request
	// returns after an fsync that covers it; concurrent requests share one).
	Mode SyncMode `mapstructure:"mode"`
	// Interval bounds, under mode interval, how long a record stays unsynced.
	Interval time.Duration `mapstructure:"interval"`
	// MaxPending bounds, under mode interval, how many records of a shard
	// may be unsynced: the append that reaches it waits for an fsync.
	// 0: no bound by count.
	MaxPending int `mapstructure:"max_pending"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RetentionConfig bounds what the log keeps. Retention deletes whole
// sealed segments, oldest first.
type RetentionConfig struct {
	// MaxAge deletes segments whose newest record is older. 0: no limit.
	// Unacknowledged segments are kept until force_delete_after.
	MaxAge time.Duration `mapstructure:"max_age"`
	// MaxSize is the disk budget of the directory in bytes. 0: no limit.
	MaxSize int64 `mapstructure:"max_size"`
	// ForceDeleteAfter deletes even unacknowledged segments whose newest
	// record is older than this, counting the loss. 0: never.
	ForceDeleteAfter time.Duration `mapstructure:"force_delete_after"`
	// DeleteConsumed deletes a segment once every consumer group has
	// acknowledged it, so the disk empties as the receiver drains.
	DeleteConsumed bool `mapstructure:"delete_consumed"`
	// CleanupInterval is how often retention runs in the background (an
	// append over budget also runs it at once).
	CleanupInterval time.Duration `mapstructure:"cleanup_interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// CompressionConfig selects the codec of records.
type CompressionConfig struct {
	// Type is none or zstd. A zstd record is kept compressed only when
	// that saves at least 10%.
	Type CompressionType `mapstructure:"type"`
	// MinSize is the smallest record, in bytes, that is compressed.
	MinSize int `mapstructure:"min_size"`
	// BacklogThreshold: records appended while every consumer group of the
	// shard in this collector is less than this many bytes behind are
	// stored uncompressed; they are read back within moments. Capped at a
	// quarter of a shard's share of retention::max_size. 0: compress
	// whatever the backlog.
	BacklogThreshold int64 `mapstructure:"backlog_threshold"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration without touching the filesystem.
func (cfg *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if cfg.Directory == "" {
		add("directory: must be set")
	}
	if cfg.Shards < 1 || cfg.Shards > maxShards {
		add("shards: must be between 1 and %d, got %d", maxShards, cfg.Shards)
	}
	switch cfg.PartitionBy {
	case PartitionRoundRobin, PartitionTraceID, PartitionResource:
	default:
		add("partition_by: must be round_robin, trace_id or resource, got %q", cfg.PartitionBy)
	}
	if cfg.SegmentSize != 0 && cfg.SegmentSize < minSegmentSize {
		add("segment_size: must be 0 (derived from retention::max_size) or at least %d bytes, got %d", minSegmentSize, cfg.SegmentSize)
	}
	if cfg.MaxRecordSize < minRecordSize || cfg.MaxRecordSize > maxRecordSizeCap {
		add("max_record_size: must be between %d and %d bytes, got %d", minRecordSize, maxRecordSizeCap, cfg.MaxRecordSize)
	}
	errs = append(errs, cfg.Sync.validate(), cfg.Retention.validate(), cfg.Compression.validate())
	if cfg.Retention.MaxSize > 0 && cfg.SegmentSize > cfg.Retention.MaxSize {
		add("segment_size: must not exceed retention::max_size (%d bytes): retention frees whole segments, got %d", cfg.Retention.MaxSize, cfg.SegmentSize)
	}
	if cfg.Retention.MaxSize > 0 && cfg.Retention.MaxSize < 2*int64(cfg.MaxRecordSize) {
		add("retention::max_size: must be at least twice max_record_size (%d bytes) so a record fits beside the data it waits for, got %d; lower max_record_size for a small budget",
			cfg.MaxRecordSize, cfg.Retention.MaxSize)
	}
	switch cfg.WhenFull {
	case WhenFullBlock, WhenFullReject, WhenFullDropOldest:
	default:
		add("when_full: must be block, reject or drop_oldest, got %q", cfg.WhenFull)
	}
	if cfg.Timeout < 0 {
		add("timeout: must not be negative, got %s", cfg.Timeout)
	}
	if cfg.ProcessSlots < 0 || cfg.ProcessSlots > maxShards {
		add("process_slots: must be between 0 (4) and %d, got %d", maxShards, cfg.ProcessSlots)
	} else if cfg.MultiProcess && cfg.Shards < cfg.effectiveProcessSlots() {
		add("shards: must be at least process_slots (%d) with multi_process, so that every writer slot owns a shard, got %d",
			cfg.effectiveProcessSlots(), cfg.Shards)
	}
	return errors.Join(errs...)
}

// defaultProcessSlots is the writer slots of multi_process when
// process_slots is 0.
const defaultProcessSlots = 4

// effectiveProcessSlots is process_slots, or its default.
func (cfg *Config) effectiveProcessSlots() int {
	if cfg.ProcessSlots == 0 {
		return defaultProcessSlots
	}
	return cfg.ProcessSlots
}

func (s *SyncConfig) validate() error {
	var errs []error
	switch s.Mode {
	case SyncNone, SyncAlways:
	case SyncInterval:
		if s.Interval <= 0 {
			errs = append(errs, fmt.Errorf("sync::interval: must be positive under mode interval, got %s", s.Interval))
		}
	default:
		errs = append(errs, fmt.Errorf("sync::mode: must be none, interval or always, got %q", s.Mode))
	}
	if s.MaxPending < 0 {
		errs = append(errs, fmt.Errorf("sync::max_pending: must not be negative, got %d", s.MaxPending))
	}
	return errors.Join(errs...)
}

func (r *RetentionConfig) validate() error {
	var errs []error
	if r.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("retention::max_age: must not be negative, got %s", r.MaxAge))
	}
	if r.MaxSize < 0 {
		errs = append(errs, fmt.Errorf("retention::max_size: must not be negative, got %d", r.MaxSize))
	}
	if r.ForceDeleteAfter < 0 {
		errs = append(errs, fmt.Errorf("retention::force_delete_after: must not be negative, got %s", r.ForceDeleteAfter))
	}
	if r.CleanupInterval <= 0 {
		errs = append(errs, fmt.Errorf("retention::cleanup_interval: must be positive, got %s", r.CleanupInterval))
	}
	return errors.Join(errs...)
}

func (c *CompressionConfig) validate() error {
	var errs []error
	switch c.Type {
	case CompressionNone, CompressionZstd:
	default:
		errs = append(errs, fmt.Errorf("compression::type: must be none or zstd, got %q", c.Type))
	}
	if c.MinSize < 0 {
		errs = append(errs, fmt.Errorf("compression::min_size: must not be negative, got %d", c.MinSize))
	}
	if c.BacklogThreshold < 0 {
		errs = append(errs, fmt.Errorf("compression::backlog_threshold: must not be negative, got %d", c.BacklogThreshold))
	}
	return errors.Join(errs...)
}
