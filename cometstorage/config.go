// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/component"
)

// SyncMode is the fsync policy of a storage client's writes.
type SyncMode string

const (
	// SyncNone leaves flushing to the operating system: writes survive a
	// crash of the collector, not necessarily a power loss.
	SyncNone SyncMode = "none"
	// SyncInterval fsyncs in the background every Interval: a power loss
	// loses at most the writes of the last interval.
	SyncInterval SyncMode = "interval"
	// SyncAlways makes every write return only after an fsync covering
	// it; concurrent writers share fsyncs.
	SyncAlways SyncMode = "always"
)

// Config is the configuration of the comet_storage extension.
type Config struct {
	// Directory holds one subdirectory per storage client.
	Directory string `mapstructure:"directory"`
	// Sync is the fsync policy.
	Sync SyncConfig `mapstructure:"sync"`
	// SegmentSize is the size, in bytes, at which a client's log starts a
	// new segment file. Space is reclaimed a segment at a time.
	SegmentSize int64 `mapstructure:"segment_size"`
	// MaxSize is the disk budget of each client, in bytes; 0 is no limit.
	// A write that adds a key beyond it fails with storage.ErrStorageFull.
	MaxSize int64 `mapstructure:"max_size"`
	// Compaction controls how superseded records are reclaimed.
	Compaction CompactionConfig `mapstructure:"compaction"`
	// DirectoryPermissions are the octal permission bits of the
	// directories created (before umask); files are created 0600.
	DirectoryPermissions string `mapstructure:"directory_permissions"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SyncConfig is the fsync policy.
type SyncConfig struct {
	// Mode is none, interval or always.
	Mode SyncMode `mapstructure:"mode"`
	// Interval is the fsync period under mode interval.
	Interval time.Duration `mapstructure:"interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// CompactionConfig controls the background reclamation of space.
type CompactionConfig struct {
	// Ratio is the share of superseded data (0 < ratio <= 1) at which a
	// sealed segment has its live records copied forward and is deleted.
	// Segments with no live record are deleted whatever the ratio.
	Ratio float64 `mapstructure:"ratio"`
	// CheckInterval is how often segments are examined.
	CheckInterval time.Duration `mapstructure:"check_interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

const (
	minSegmentSize = 64 << 10
	maxSegmentSize = 1 << 30
)

var _ component.Config = (*Config)(nil)

// Validate checks the configuration without touching the filesystem.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Directory == "" {
		errs = append(errs, errors.New("directory: must not be empty"))
	}
	switch cfg.Sync.Mode {
	case SyncNone, SyncAlways:
	case SyncInterval:
		if cfg.Sync.Interval <= 0 {
			errs = append(errs, fmt.Errorf("sync::interval: must be positive when sync::mode is %q, got %s", SyncInterval, cfg.Sync.Interval))
		}
	default:
		errs = append(errs, fmt.Errorf("sync::mode: must be %q, %q or %q, got %q", SyncNone, SyncInterval, SyncAlways, cfg.Sync.Mode))
	}
	if cfg.SegmentSize < minSegmentSize || cfg.SegmentSize > maxSegmentSize {
		errs = append(errs, fmt.Errorf("segment_size: must be between %d (64 KiB) and %d (1 GiB) bytes, got %d", minSegmentSize, maxSegmentSize, cfg.SegmentSize))
	}
	switch {
	case cfg.MaxSize < 0:
		errs = append(errs, fmt.Errorf("max_size: must not be negative, got %d", cfg.MaxSize))
	case cfg.MaxSize > 0 && cfg.MaxSize < 2*cfg.SegmentSize:
		errs = append(errs, fmt.Errorf("max_size: must be 0 (no limit) or at least twice segment_size (%d bytes) so compaction has room, got %d", 2*cfg.SegmentSize, cfg.MaxSize))
	}
	if !(cfg.Compaction.Ratio > 0 && cfg.Compaction.Ratio <= 1) {
		errs = append(errs, fmt.Errorf("compaction::ratio: must be greater than 0 and at most 1, got %v", cfg.Compaction.Ratio))
	}
	if cfg.Compaction.CheckInterval <= 0 {
		errs = append(errs, fmt.Errorf("compaction::check_interval: must be positive, got %s", cfg.Compaction.CheckInterval))
	}
	if _, err := parsePermissions(cfg.DirectoryPermissions); err != nil {
		errs = append(errs, fmt.Errorf("directory_permissions: %w", err))
	}
	return errors.Join(errs...)
}

// parsePermissions reads an octal permission string such as "0700". The
// owner needs full access to the directories it manages.
func parsePermissions(s string) (os.FileMode, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return 0, fmt.Errorf("must be an octal number such as \"0700\", got %q", s)
	}
	mode := os.FileMode(v)
	if mode&^os.ModePerm != 0 {
		return 0, fmt.Errorf("must hold permission bits only (at most 0777), got %q", s)
	}
	if mode&0o700 != 0o700 {
		return 0, fmt.Errorf("must give the owner read, write and search access (0700), got %q", s)
	}
	return mode, nil
}
