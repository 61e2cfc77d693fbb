// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/comet-otel/comet/cometstorage/internal/metadata"
)

// NewFactory returns the factory of the comet_storage extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{
		Directory: defaultDirectory(),
		// An fsync per second bounds what a power loss can take without
		// paying an fsync per write; a process crash loses nothing.
		Sync: SyncConfig{Mode: SyncInterval, Interval: time.Second},
		// Small enough that a drained queue gives its disk back quickly
		// on small edge devices, large enough to keep file counts low.
		SegmentSize: 16 << 20,
		// Copying live records forward once half a segment is garbage
		// keeps disk use within about twice the live data.
		Compaction:           CompactionConfig{Ratio: 0.5, CheckInterval: time.Second},
		DirectoryPermissions: "0700",
	}
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newStorageExtension(set, cfg.(*Config))
}
