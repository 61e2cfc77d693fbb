// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/comet-otel/comet/cometstorage/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	tests := []struct {
		id   component.ID
		want *Config
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig().(*Config)},
		{
			id: component.NewIDWithName(metadata.Type, "all_settings"),
			want: &Config{
				Directory:            "/var/lib/otelcol/queue",
				Sync:                 SyncConfig{Mode: SyncAlways, Interval: 250 * time.Millisecond},
				SegmentSize:          32 << 20,
				MaxSize:              1 << 30,
				Compaction:           CompactionConfig{Ratio: 0.25, CheckInterval: 10 * time.Second},
				DirectoryPermissions: "0750",
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "no_fsync"),
			want: func() *Config {
				cfg := createDefaultConfig().(*Config)
				cfg.Sync.Mode = SyncNone
				return cfg
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			require.NoError(t, confmap.Validate(cfg))
			require.Equal(t, tt.want, cfg)
		})
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{name: "default", mutate: func(*Config) {}},
		{name: "empty directory", mutate: func(c *Config) { c.Directory = "" }, wantErr: "directory: must not be empty"},
		{name: "unknown sync mode", mutate: func(c *Config) { c.Sync.Mode = "sometimes" }, wantErr: `sync::mode: must be "none", "interval" or "always", got "sometimes"`},
		{name: "interval without period", mutate: func(c *Config) { c.Sync.Interval = 0 }, wantErr: "sync::interval: must be positive"},
		{name: "no period needed for always", mutate: func(c *Config) { c.Sync = SyncConfig{Mode: SyncAlways} }},
		{name: "tiny segments", mutate: func(c *Config) { c.SegmentSize = 1000 }, wantErr: "segment_size: must be between"},
		{name: "huge segments", mutate: func(c *Config) { c.SegmentSize = 2 << 30 }, wantErr: "segment_size: must be between"},
		{name: "negative max_size", mutate: func(c *Config) { c.MaxSize = -1 }, wantErr: "max_size: must not be negative"},
		{name: "max_size below two segments", mutate: func(c *Config) { c.MaxSize = c.SegmentSize }, wantErr: "max_size: must be 0 (no limit) or at least twice segment_size"},
		{name: "zero ratio", mutate: func(c *Config) { c.Compaction.Ratio = 0 }, wantErr: "compaction::ratio: must be greater than 0 and at most 1"},
		{name: "ratio above one", mutate: func(c *Config) { c.Compaction.Ratio = 1.5 }, wantErr: "compaction::ratio"},
		{name: "zero check interval", mutate: func(c *Config) { c.Compaction.CheckInterval = 0 }, wantErr: "compaction::check_interval: must be positive"},
		{name: "permissions not octal", mutate: func(c *Config) { c.DirectoryPermissions = "rwx" }, wantErr: "directory_permissions: must be an octal number"},
		{name: "permissions with other bits", mutate: func(c *Config) { c.DirectoryPermissions = "4777" }, wantErr: "directory_permissions: must hold permission bits only"},
		{name: "permissions locking the owner out", mutate: func(c *Config) { c.DirectoryPermissions = "0500" }, wantErr: "directory_permissions: must give the owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			tt.mutate(cfg)
			err := cfg.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
