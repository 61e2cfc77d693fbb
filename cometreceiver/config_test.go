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
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/comet-otel/comet/cometreceiver/internal/metadata"
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
	defaults := func(edit func(*Config)) *Config {
		cfg := createDefaultConfig().(*Config)
		cfg.Directory = "/var/lib/otelcol/comet"
		edit(cfg)
		return cfg
	}
	tests := []struct {
		name string
		want *Config
	}{
		{name: "", want: defaults(func(*Config) {})},
		{
			name: "all_settings",
			want: &Config{
				Directory:    "/var/lib/otelcol/comet",
				Group:        "uplink",
				StartAt:      StartAtLatest,
				Workers:      4,
				PollInterval: time.Second,
				Batch:        BatchConfig{MaxItems: 500, MaxBytes: 1 << 20, FlushTimeout: 50 * time.Millisecond, MinBytes: 64 << 10},
				RetryOnFailure: configretry.BackOffConfig{
					Enabled:         true,
					InitialInterval: 50 * time.Millisecond,
					Multiplier:      1.5,
					MaxInterval:     2 * time.Second,
					MaxElapsedTime:  10 * time.Minute,
				},
			},
		},
		{name: "replay_window", want: defaults(func(c *Config) { c.Group, c.StartAt = "replay", "-2h" })},
		{name: "replay_from", want: defaults(func(c *Config) { c.StartAt = "2026-12-01T08:00:00Z" })},
		{name: "no_retry", want: defaults(func(c *Config) { c.RetryOnFailure.Enabled = false })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConfig(t, tt.name)
			assert.Equal(t, tt.want, cfg)
			assert.NoError(t, confmap.Validate(cfg))
		})
	}
}

func TestConfig_Defaults(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	r := cfg.RetryOnFailure
	assert.True(t, r.Enabled)
	assert.Zero(t, r.MaxElapsedTime, "a buffer never gives up on its data by default")
	assert.LessOrEqual(t, time.Duration(float64(r.MaxInterval)*(1+r.RandomizationFactor)), 1500*time.Millisecond,
		"probes at most every 1.5 s keep the first delivery after an outage within 2 s")
}

func TestConfig_Validate_NamesTheKey(t *testing.T) {
	err := confmap.Validate(loadConfig(t, "bad_values"))
	require.Error(t, err)
	for _, want := range []string{
		"directory: must be set",
		`start_at: must be earliest, latest, an RFC 3339 time (2026-12-01T08:00:00Z) or a negative duration (-2h), got "yesterday"`,
		"poll_interval: must be positive",
		"workers: must be between 1 and 1024, got 0",
		"batch::max_items: must be between 1 and 1000000, got 0",
		"batch::max_bytes: must be positive, got 0",
		"batch::flush_timeout: must not be negative, got -1s",
		"batch::min_bytes: must be between 0 and batch::max_bytes (0), got 10",
		"retry_on_failure::initial_interval: must be positive",
		// confmap names the section once for configretry's own checks.
		"retry_on_failure: max_elapsed_time value must be greater than or equal to 0",
		"max_interval value must be greater than or equal to 0",
		"multiplier value must be greater than or equal to 0",
		"randomization_factor value must be less than or equal to 1",
	} {
		assert.Contains(t, err.Error(), want)
	}
	err = confmap.Validate(loadConfig(t, "future_duration"))
	assert.ErrorContains(t, err, "start_at: a duration counts back from now and must be negative, such as -2h, got 2h")
}

func TestStartAt_Resolve(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for text, want := range map[StartAt]startPosition{
		"earliest":             {at: log.StartEarliest},
		"latest":               {at: log.StartLatest},
		"-2h":                  {at: log.StartByTime, time: now.Add(-2 * time.Hour)},
		"2026-12-01T08:00:00Z": {at: log.StartByTime, time: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)},
	} {
		got, err := text.resolve(now)
		require.NoError(t, err, text)
		assert.Equal(t, want.at, got.at, text)
		assert.True(t, want.time.Equal(got.time), "%s: %s", text, got.time)
	}
}
