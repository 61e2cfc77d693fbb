// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/comet-otel/comet/cometstorage/internal/metadata"
	"github.com/comet-otel/comet/internal/health"
)

// openDirs holds the client directories open in this process, so that a
// second GetClient for the same client (through this extension or another
// one configured with the same directory) fails clearly.
var openDirs = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}

// storageExtension is the comet_storage extension: a factory of storage
// clients, each a log in its own directory.
type storageExtension struct {
	cfg       *Config
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	health    health.Reporter

	mu      sync.Mutex
	clients map[*client]bool
}

var _ storage.Extension = (*storageExtension)(nil)

func newStorageExtension(set extension.Settings, cfg *Config) (*storageExtension, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e := &storageExtension{cfg: cfg, logger: set.Logger, telemetry: tb, clients: map[*client]bool{}}
	err = errors.Join(
		tb.RegisterCometStorageKeysCallback(func(_ context.Context, o metric.Int64Observer) error {
			keys, _ := e.usage()
			o.Observe(keys)
			return nil
		}),
		tb.RegisterCometStorageDiskUsageCallback(func(_ context.Context, o metric.Int64Observer) error {
			_, disk := e.usage()
			o.Observe(disk)
			return nil
		}),
	)
	if err != nil {
		tb.Shutdown()
		return nil, err
	}
	return e, nil
}

// Start checks that the directory, if it exists, is one. Directories are
// created when clients are opened.
func (e *storageExtension) Start(_ context.Context, host component.Host) error {
	e.health.SetHost(host)
	info, err := os.Stat(e.cfg.Directory)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("comet_storage: directory %s: %w", e.cfg.Directory, err)
	case !info.IsDir():
		return fmt.Errorf("comet_storage: directory %s is not a directory", e.cfg.Directory)
	}
	return nil
}

// Shutdown closes the clients their owners left open.
func (e *storageExtension) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	open := make([]*client, 0, len(e.clients))
	for c := range e.clients {
		open = append(open, c)
	}
	e.mu.Unlock()
	var errs []error
	for _, c := range open {
		e.logger.Warn("Closing a storage client its owner left open", zap.String("directory", c.dir))
		errs = append(errs, c.Close(ctx))
	}
	e.telemetry.Shutdown()
	return errors.Join(errs...)
}

// GetClient opens the storage client of component id (of the given kind)
// named storageName: a store of its own, in its own directory under the
// configured one (see clientDirName). A client can be open once at a time.
func (e *storageExtension) GetClient(ctx context.Context, kind component.Kind, id component.ID, storageName string) (storage.Client, error) {
	dirMode, err := parsePermissions(e.cfg.DirectoryPermissions)
	if err != nil {
		return nil, fmt.Errorf("comet_storage: directory_permissions: %w", err)
	}
	base, err := filepath.Abs(e.cfg.Directory)
	if err != nil {
		return nil, fmt.Errorf("comet_storage: directory %s: %w", e.cfg.Directory, err)
	}
	dir := filepath.Join(base, clientDirName(kind, id, storageName))
	owner := fmt.Sprintf("%s %s (storage name %q)", kindName(kind), id, storageName)

	openDirs.Lock()
	defer openDirs.Unlock()
	if openDirs.m[dir] {
		return nil, fmt.Errorf("comet_storage: the storage client of %s is already open in %s; close it before opening it again", owner, dir)
	}
	if err := os.MkdirAll(base, dirMode); err != nil {
		return nil, fmt.Errorf("comet_storage: create directory %s: %w", base, err)
	}
	c, err := openClient(ctx, dir, clientSettings{
		logger:      e.logger.With(zap.String("client", owner)),
		sync:        e.cfg.Sync,
		segmentSize: e.cfg.SegmentSize,
		maxSize:     e.cfg.MaxSize,
		compaction:  e.cfg.Compaction,
		dirMode:     dirMode,
		events:      e.events(),
		health:      &e.health,
	})
	if err != nil {
		return nil, err
	}
	c.onClose = func() {
		e.mu.Lock()
		delete(e.clients, c)
		e.mu.Unlock()
		openDirs.Lock()
		delete(openDirs.m, dir)
		openDirs.Unlock()
	}
	openDirs.m[dir] = true
	e.mu.Lock()
	e.clients[c] = true
	e.mu.Unlock()
	return c, nil
}

// events wires client events to the extension's counters.
func (e *storageExtension) events() clientEvents {
	add := func(counter metric.Int64Counter) func(int64) {
		return func(n int64) { counter.Add(context.Background(), n) }
	}
	return clientEvents{
		compacted: add(e.telemetry.CometStorageCompactions),
		deleted:   add(e.telemetry.CometStorageSegmentsDeleted),
		damaged:   add(e.telemetry.CometStorageDamagedRecords),
	}
}

// usage sums the live keys and disk bytes of the open clients.
func (e *storageExtension) usage() (keys, disk int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for c := range e.clients {
		k, d := c.usage()
		keys += k
		disk += d
	}
	return keys, disk
}
