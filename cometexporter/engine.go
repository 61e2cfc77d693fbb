// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter // import "github.com/comet-otel/comet/cometexporter"

import (
	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/log"
)

const (
	// Bounds of the segment size derived from retention::max_size.
	minDerivedSegmentSize = 256 << 10
	maxDerivedSegmentSize = 8 << 20
	// segmentsPerShardInBudget is how many segments of each shard the
	// budget holds with a derived segment size.
	segmentsPerShardInBudget = 4
)

// effectiveSegmentSize is segment_size, or when it is 0 the size that
// leaves every shard several segments within the budget: retention frees
// space one whole segment at a time, so a segment as large as a shard's
// share of the budget could never be freed while it is being filled.
// It stays between 256 KiB (fewer files and rotations) and 8 MiB (disk
// returns to the OS soon after a drain, and an active segment that
// delete_consumed cannot delete yet stays small).
func (cfg *Config) effectiveSegmentSize() int64 {
	if cfg.SegmentSize > 0 {
		return cfg.SegmentSize
	}
	if cfg.Retention.MaxSize == 0 {
		return maxDerivedSegmentSize
	}
	size := cfg.Retention.MaxSize / int64(cfg.Shards*segmentsPerShardInBudget)
	return min(max(size, minDerivedSegmentSize), maxDerivedSegmentSize)
}

// engineConfig translates the exporter configuration into the engine's.
func (cfg *Config) engineConfig(logger *zap.Logger) log.CometConfig {
	ec := log.DefaultCometConfig()
	ec.Logger = logger
	ec.Storage.MaxFileSize = cfg.effectiveSegmentSize()
	ec.Storage.MaxEntrySize = cfg.MaxRecordSize
	ec.Durability = log.DurabilityConfig{
		Mode:              syncModes[cfg.Sync.Mode],
		Interval:          cfg.Sync.Interval,
		MaxPendingEntries: cfg.Sync.MaxPending,
	}
	ec.Retention.MaxAge = cfg.Retention.MaxAge
	ec.Retention.MaxTotalSize = cfg.Retention.MaxSize
	ec.Retention.ForceDeleteAfter = cfg.Retention.ForceDeleteAfter
	ec.Retention.DeleteConsumed = cfg.Retention.DeleteConsumed
	ec.Retention.CleanupInterval = cfg.Retention.CleanupInterval
	ec.Retention.WhenFull = fullPolicies[cfg.WhenFull]
	if cfg.MultiProcess {
		ec.Concurrency.EnableMultiProcessMode = true
		ec.Concurrency.ProcessSlots = cfg.effectiveProcessSlots()
	}
	ec.Compression = log.CompressionConfig{
		Codec:            codecs[cfg.Compression.Type],
		MinCompressSize:  cfg.Compression.MinSize,
		BacklogThreshold: cfg.effectiveBacklogThreshold(),
	}
	return ec
}

// effectiveBacklogThreshold caps compression::backlog_threshold at a
// quarter of a shard's share of the budget, so that a small budget fills
// with compressed records, not raw ones.
func (cfg *Config) effectiveBacklogThreshold() int64 {
	t := cfg.Compression.BacklogThreshold
	if cfg.Retention.MaxSize > 0 {
		t = min(t, cfg.Retention.MaxSize/int64(4*cfg.Shards))
	}
	return t
}

var (
	syncModes = map[SyncMode]log.SyncMode{
		SyncNone: log.SyncNone, SyncInterval: log.SyncInterval, SyncAlways: log.SyncAlways,
	}
	fullPolicies = map[WhenFull]log.FullPolicy{
		WhenFullBlock: log.FullBlock, WhenFullReject: log.FullReject, WhenFullDropOldest: log.FullDropOldest,
	}
	codecs = map[CompressionType]log.Codec{CompressionNone: log.CodecNone, CompressionZstd: log.CodecZstd}
)

// configKeys names, for a registry conflict, the exporter key behind each
// engine setting; settings the exporter does not expose keep their name.
var configKeys = map[string]string{
	"Storage.MaxFileSize":                "segment_size",
	"Storage.MaxEntrySize":               "max_record_size",
	"Durability.Mode":                    "sync::mode",
	"Durability.Interval":                "sync::interval",
	"Durability.MaxPendingEntries":       "sync::max_pending",
	"Retention.MaxAge":                   "retention::max_age",
	"Retention.MaxTotalSize":             "retention::max_size",
	"Retention.ForceDeleteAfter":         "retention::force_delete_after",
	"Retention.DeleteConsumed":           "retention::delete_consumed",
	"Retention.CleanupInterval":          "retention::cleanup_interval",
	"Retention.WhenFull":                 "when_full",
	"Concurrency.EnableMultiProcessMode": "multi_process",
	"Concurrency.ProcessSlots":           "process_slots",
	"Compression.Codec":                  "compression::type",
	"Compression.MinCompressSize":        "compression::min_size",
	"Compression.BacklogThreshold":       "compression::backlog_threshold",
}
