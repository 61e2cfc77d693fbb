// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/comet-otel/comet/cometexporter/internal/metadata"
	"github.com/comet-otel/comet/internal/log"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	sub, err := cm.Sub(component.MustNewIDWithName(metadata.Type.String(), name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name string
		want *Config
	}{
		{
			name: "",
			want: &Config{
				Directory:     "/var/lib/otelcol/comet",
				Shards:        16,
				PartitionBy:   PartitionRoundRobin,
				SegmentSize:   0,
				MaxRecordSize: 4 << 20,
				Sync:          SyncConfig{Mode: SyncInterval, Interval: time.Second, MaxPending: 10000},
				Retention:     RetentionConfig{MaxSize: 1 << 30, DeleteConsumed: true, CleanupInterval: 30 * time.Second},
				WhenFull:      WhenFullBlock,
				Compression:   CompressionConfig{Type: CompressionZstd, MinSize: 4096, BacklogThreshold: 1 << 20},
			},
		},
		{
			name: "all_settings",
			want: &Config{
				Directory:     "/var/lib/otelcol/comet",
				Shards:        4,
				PartitionBy:   PartitionTraceID,
				SegmentSize:   1 << 20,
				MaxRecordSize: 1 << 20,
				Sync:          SyncConfig{Mode: SyncAlways},
				Retention: RetentionConfig{
					MaxAge:           24 * time.Hour,
					MaxSize:          256 << 20,
					ForceDeleteAfter: 72 * time.Hour,
					DeleteConsumed:   false,
					CleanupInterval:  10 * time.Second,
				},
				WhenFull:    WhenFullReject,
				Compression: CompressionConfig{Type: CompressionNone},
				Timeout:     5 * time.Second,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConfig(t, tt.name)
			assert.Equal(t, tt.want, cfg)
			assert.NoError(t, confmap.Validate(cfg))
		})
	}
}

func TestConfig_Validate_NamesTheKey(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{name: "no_directory", want: []string{"directory: must be set"}},
		{name: "bad_values", want: []string{
			"shards: must be between 1 and 4096, got 0",
			`partition_by: must be round_robin, trace_id or resource, got "span_name"`,
			"segment_size: must be 0",
			"max_record_size: must be between",
			`sync::mode: must be none, interval or always, got "sometimes"`,
			"sync::max_pending: must not be negative",
			"retention::max_age: must not be negative",
			"retention::max_size: must not be negative",
			"retention::force_delete_after: must not be negative",
			"retention::cleanup_interval: must be positive",
			`when_full: must be block, reject or drop_oldest, got "explode"`,
			`compression::type: must be none or zstd, got "gzip"`,
			"compression::min_size: must not be negative",
			"compression::backlog_threshold: must not be negative, got -1",
			"timeout: must not be negative",
		}},
		{name: "interval_without_period", want: []string{"sync::interval: must be positive under mode interval"}},
		{name: "segment_above_budget", want: []string{"segment_size: must not exceed retention::max_size (4194304 bytes)"}},
		{name: "budget_below_record", want: []string{"retention::max_size: must be at least twice max_record_size (2097152 bytes)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := confmap.Validate(loadConfig(t, tt.name))
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestConfig_EffectiveSegmentSize(t *testing.T) {
	tests := []struct {
		name             string
		segment, maxSize int64
		shards           int
		want             int64
	}{
		{name: "explicit", segment: 1 << 20, maxSize: 1 << 30, shards: 16, want: 1 << 20},
		{name: "no budget", maxSize: 0, shards: 16, want: 8 << 20},
		{name: "large budget is capped", maxSize: 1 << 40, shards: 16, want: 8 << 20},
		{name: "four segments per shard", maxSize: 64 << 20, shards: 8, want: 2 << 20},
		{name: "tiny budget is floored", maxSize: 4 << 20, shards: 16, want: 256 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.SegmentSize, cfg.Retention.MaxSize, cfg.Shards = tt.segment, tt.maxSize, tt.shards
			assert.Equal(t, tt.want, cfg.effectiveSegmentSize())
		})
	}
}

func TestConfig_EngineConfig(t *testing.T) {
	cfg := loadConfig(t, "all_settings")
	ec := cfg.engineConfig(nil)
	assert.Equal(t, int64(1<<20), ec.Storage.MaxFileSize)
	assert.Equal(t, 1<<20, ec.Storage.MaxEntrySize)
	assert.Equal(t, log.DurabilityConfig{Mode: log.SyncAlways}, ec.Durability)
	assert.Equal(t, 24*time.Hour, ec.Retention.MaxAge)
	assert.Equal(t, int64(256<<20), ec.Retention.MaxTotalSize)
	assert.Equal(t, 72*time.Hour, ec.Retention.ForceDeleteAfter)
	assert.False(t, ec.Retention.DeleteConsumed)
	assert.Equal(t, 10*time.Second, ec.Retention.CleanupInterval)
	assert.Equal(t, log.FullReject, ec.Retention.WhenFull)
	assert.True(t, ec.Retention.ProtectUnconsumed, "unacknowledged data is protected unless force_delete_after says otherwise")
	assert.Equal(t, log.CompressionConfig{Codec: log.CodecNone}, ec.Compression)

	def := createDefaultConfig().(*Config)
	def.Directory = "/x"
	dc := def.engineConfig(nil)
	assert.Equal(t, log.DurabilityConfig{Mode: log.SyncInterval, Interval: time.Second, MaxPendingEntries: 10000}, dc.Durability)
	assert.Equal(t, log.FullBlock, dc.Retention.WhenFull)
	assert.True(t, dc.Retention.DeleteConsumed)
	assert.Equal(t, log.CompressionConfig{Codec: log.CodecZstd, MinCompressSize: 4096, BacklogThreshold: 1 << 20}, dc.Compression)

	def.Retention.MaxSize = 8 << 20
	assert.Equal(t, int64(128<<10), def.engineConfig(nil).Compression.BacklogThreshold,
		"a small budget (8 MiB over 16 shards) caps the uncompressed backlog at a quarter of a shard's share")
}

func TestConfigKeys_NameExposedEngineSettings(t *testing.T) {
	for field, key := range configKeys {
		assert.NotEmpty(t, key, field)
	}
	assert.Len(t, syncModes, 3)
	assert.Len(t, fullPolicies, 3)
	assert.Len(t, codecs, 2)
}
