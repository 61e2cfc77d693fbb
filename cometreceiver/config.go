// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
)

// StartAt is where a consumer group that has never read a shard starts.
type StartAt string

const (
	// StartAtEarliest starts at the oldest record still on disk.
	StartAtEarliest StartAt = "earliest"
	// StartAtLatest skips what was appended before the receiver started.
	StartAtLatest StartAt = "latest"
)

const (
	maxBatchSize = 100000
	maxWorkers   = 1024
)

// Config is the configuration of the comet receiver.
type Config struct {
	// Directory is the log the comet exporter writes.
	Directory string `mapstructure:"directory"`
	// Group is the consumer group; its offsets are durable in Directory.
	// Empty: the receiver's component ID, such as "comet" or "comet/eu".
	Group string `mapstructure:"group"`
	// StartAt applies to shards the group has never read.
	StartAt StartAt `mapstructure:"start_at"`
	// BatchSize is the most records read from a shard at a time.
	BatchSize int `mapstructure:"batch_size"`
	// PollInterval is how often idle workers look for records appended by
	// a writer in another process (appends in this process wake them at
	// once).
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// Workers read the shards in parallel, each its own share of them.
	Workers int `mapstructure:"workers"`
	// Retry is the backoff while the next consumer returns retryable errors.
	Retry RetryConfig `mapstructure:"retry"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RetryConfig is an exponential backoff: initial_interval, multiplied by
// multiplier after each failure, capped at max_interval.
type RetryConfig struct {
	InitialInterval time.Duration `mapstructure:"initial_interval"`
	MaxInterval     time.Duration `mapstructure:"max_interval"`
	Multiplier      float64       `mapstructure:"multiplier"`
	// MaxElapsedTime is how long one record is retried before it is
	// dropped (acknowledged, counted and logged). 0: retry forever.
	MaxElapsedTime time.Duration `mapstructure:"max_elapsed_time"`

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
	switch cfg.StartAt {
	case StartAtEarliest, StartAtLatest:
	default:
		add("start_at: must be earliest or latest, got %q", cfg.StartAt)
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > maxBatchSize {
		add("batch_size: must be between 1 and %d, got %d", maxBatchSize, cfg.BatchSize)
	}
	if cfg.PollInterval <= 0 {
		add("poll_interval: must be positive, got %s", cfg.PollInterval)
	}
	if cfg.Workers < 1 || cfg.Workers > maxWorkers {
		add("workers: must be between 1 and %d, got %d", maxWorkers, cfg.Workers)
	}
	r := &cfg.Retry
	if r.InitialInterval <= 0 {
		add("retry::initial_interval: must be positive, got %s", r.InitialInterval)
	}
	if r.MaxInterval < r.InitialInterval {
		add("retry::max_interval: must be at least retry::initial_interval (%s), got %s", r.InitialInterval, r.MaxInterval)
	}
	if r.Multiplier < 1 {
		add("retry::multiplier: must be at least 1, got %g", r.Multiplier)
	}
	if r.MaxElapsedTime < 0 {
		add("retry::max_elapsed_time: must not be negative (0 retries forever), got %s", r.MaxElapsedTime)
	}
	return errors.Join(errs...)
}
