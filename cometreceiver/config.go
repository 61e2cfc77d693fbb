// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
)

const (
	maxBatchItems = 1_000_000
	maxWorkers    = 1024
)

// Config is the configuration of the comet receiver.
type Config struct {
	// Directory is the log the comet exporter writes.
	Directory string `mapstructure:"directory"`
	// Group is the consumer group; its offsets are durable in Directory.
	// Empty: the receiver's component ID, such as "comet" or "comet/eu".
	Group string `mapstructure:"group"`
	// StartAt applies to shards the group has never read: "earliest",
	// "latest", an RFC 3339 time, or a negative duration back from when
	// the receiver starts ("-2h").
	StartAt StartAt `mapstructure:"start_at"`
	// Workers read the shards in parallel, each its own share of them,
	// each with one request in flight downstream.
	Workers int `mapstructure:"workers"`
	// PollInterval is how often idle workers look for records appended by
	// a writer in another process (appends in this process wake them at
	// once).
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// Batch bounds the downstream requests that consecutive records of a
	// shard are merged into.
	Batch BatchConfig `mapstructure:"batch"`
	// RetryOnFailure is the schedule of probes while the next consumer
	// refuses records with retryable errors.
	RetryOnFailure configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// BatchConfig bounds one downstream request.
type BatchConfig struct {
	// MaxItems is the most spans, data points, log records or profile
	// samples merged into one request; a single larger record is sent
	// alone.
	MaxItems int `mapstructure:"max_items"`
	// MaxBytes is the most stored OTLP bytes merged into one request, and
	// what a worker holds in memory at a time (a single larger record is
	// sent alone).
	MaxBytes int64 `mapstructure:"max_bytes"`
	// FlushTimeout is how long a shard whose records make a request
	// smaller than MinBytes (and MaxItems) waits for more before they are
	// sent; 0 sends at once. A backlog never waits: its requests are full.
	FlushTimeout time.Duration `mapstructure:"flush_timeout"`
	// MinBytes is the stored OTLP bytes from which a request is sent
	// without waiting out FlushTimeout (at most MaxBytes).
	MinBytes int64 `mapstructure:"min_bytes"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var (
	_ component.Config    = (*Config)(nil)
	_ confmap.Unmarshaler = (*Config)(nil)
)

// Unmarshal reads the configuration, taking start_at as written even when
// YAML has made an unquoted RFC 3339 time of it.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if t, ok := conf.Get("start_at").(time.Time); ok {
		if err := conf.Merge(confmap.NewFromStringMap(map[string]any{"start_at": t.Format(time.RFC3339Nano)})); err != nil {
			return err
		}
	}
	return conf.Unmarshal(cfg)
}

// Validate checks the configuration without touching the filesystem.
func (cfg *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if cfg.Directory == "" {
		add("directory: must be set")
	}
	if _, err := cfg.StartAt.resolve(time.Now()); err != nil {
		add("start_at: %w", err)
	}
	if cfg.Workers < 1 || cfg.Workers > maxWorkers {
		add("workers: must be between 1 and %d, got %d", maxWorkers, cfg.Workers)
	}
	if cfg.PollInterval <= 0 {
		add("poll_interval: must be positive, got %s", cfg.PollInterval)
	}
	if cfg.Batch.MaxItems < 1 || cfg.Batch.MaxItems > maxBatchItems {
		add("batch::max_items: must be between 1 and %d, got %d", maxBatchItems, cfg.Batch.MaxItems)
	}
	if cfg.Batch.MaxBytes < 1 {
		add("batch::max_bytes: must be positive, got %d", cfg.Batch.MaxBytes)
	}
	if cfg.Batch.FlushTimeout < 0 {
		add("batch::flush_timeout: must not be negative, got %s", cfg.Batch.FlushTimeout)
	}
	if cfg.Batch.MinBytes < 0 || cfg.Batch.MinBytes > cfg.Batch.MaxBytes {
		add("batch::min_bytes: must be between 0 and batch::max_bytes (%d), got %d", cfg.Batch.MaxBytes, cfg.Batch.MinBytes)
	}
	// confmap validates retry_on_failure's own fields.
	if r := &cfg.RetryOnFailure; r.Enabled && r.InitialInterval <= 0 {
		add("retry_on_failure::initial_interval: must be positive, got %s", r.InitialInterval)
	}
	return errors.Join(errs...)
}
