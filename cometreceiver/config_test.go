// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/comet-otel/comet/cometreceiver/internal/metadata"
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
				Directory:    "/var/lib/otelcol/comet",
				StartAt:      StartAtEarliest,
				BatchSize:    10,
				PollInterval: 100 * time.Millisecond,
				Workers:      8,
				Retry:        RetryConfig{InitialInterval: time.Second, MaxInterval: 30 * time.Second, Multiplier: 2},
			},
		},
		{
			name: "all_settings",
			want: &Config{
				Directory:    "/var/lib/otelcol/comet",
				Group:        "uplink",
				StartAt:      StartAtLatest,
				BatchSize:    500,
				PollInterval: time.Second,
				Workers:      4,
				Retry: RetryConfig{
					InitialInterval: 100 * time.Millisecond,
					MaxInterval:     5 * time.Second,
					Multiplier:      1.5,
					MaxElapsedTime:  10 * time.Minute,
				},
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
	err := confmap.Validate(loadConfig(t, "bad_values"))
	require.Error(t, err)
	for _, want := range []string{
		"directory: must be set",
		`start_at: must be earliest or latest, got "yesterday"`,
		"batch_size: must be between 1 and 100000, got 0",
		"poll_interval: must be positive",
		"workers: must be between 1 and 1024, got 0",
		"retry::initial_interval: must be positive",
		"retry::max_interval: must be at least retry::initial_interval",
		"retry::multiplier: must be at least 1",
		"retry::max_elapsed_time: must not be negative",
	} {
		assert.Contains(t, err.Error(), want)
	}
}
