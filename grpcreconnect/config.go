// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package grpcreconnect // import "github.com/comet-otel/comet/grpcreconnect"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Config is the reconnect schedule of the connections of the gRPC clients
// that list the extension: base_delay after the first failure, multiplied
// by multiplier after each, up to max_delay, each randomized by ±jitter.
// The names are gRPC's (google.golang.org/grpc/backoff).
type Config struct {
	BaseDelay  time.Duration `mapstructure:"base_delay"`
	Multiplier float64       `mapstructure:"multiplier"`
	Jitter     float64       `mapstructure:"jitter"`
	MaxDelay   time.Duration `mapstructure:"max_delay"`
	// MinConnectTimeout is the least time a connection attempt is given.
	MinConnectTimeout time.Duration `mapstructure:"min_connect_timeout"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.BaseDelay <= 0 {
		errs = append(errs, fmt.Errorf("base_delay: must be positive, got %s", cfg.BaseDelay))
	}
	if cfg.MaxDelay < cfg.BaseDelay {
		errs = append(errs, fmt.Errorf("max_delay: must be at least base_delay (%s), got %s", cfg.BaseDelay, cfg.MaxDelay))
	}
	if cfg.Multiplier < 1 {
		errs = append(errs, fmt.Errorf("multiplier: must be at least 1, got %g", cfg.Multiplier))
	}
	if cfg.Jitter < 0 || cfg.Jitter > 1 {
		errs = append(errs, fmt.Errorf("jitter: must be between 0 and 1, got %g", cfg.Jitter))
	}
	if cfg.MinConnectTimeout <= 0 {
		errs = append(errs, fmt.Errorf("min_connect_timeout: must be positive, got %s", cfg.MinConnectTimeout))
	}
	return errors.Join(errs...)
}
