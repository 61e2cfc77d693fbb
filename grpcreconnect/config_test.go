// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package grpcreconnect

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/comet-otel/comet/grpcreconnect/internal/metadata"
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
	assert.Equal(t, createDefaultConfig(), loadConfig(t, ""))
	assert.Equal(t, &Config{BaseDelay: 50 * time.Millisecond, Multiplier: 2, MaxDelay: 500 * time.Millisecond, MinConnectTimeout: 5 * time.Second},
		loadConfig(t, "custom"))
	require.NoError(t, confmap.Validate(loadConfig(t, "custom")))
}

func TestConfig_Validate_NamesTheKey(t *testing.T) {
	err := confmap.Validate(loadConfig(t, "bad"))
	require.Error(t, err)
	for _, want := range []string{
		"base_delay: must be positive, got 0s",
		"max_delay: must be at least base_delay (0s), got -1s",
		"multiplier: must be at least 1, got 0.5",
		"jitter: must be between 0 and 1, got 2",
		"min_connect_timeout: must be positive, got 0s",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

// The comet receiver probes at most 1.2 s apart (retry_on_failure's
// max_interval, 1 s, ±20%); a drain resumes within 2 s of the backend's
// return only if gRPC has reconnected by then too.
func TestConfig_DefaultsKeepTheDrainWithinTwoSeconds(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	longestWait := time.Duration(float64(cfg.MaxDelay) * (1 + cfg.Jitter))
	assert.LessOrEqual(t, longestWait+1200*time.Millisecond, 1800*time.Millisecond,
		"the reconnect and the next probe, with 200 ms left for the handshake and the request")
}
