// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package sharedlog // import "github.com/comet-otel/comet/internal/sharedlog"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/log"
)

// dirMode is the permission of a data directory a Registry creates.
const dirMode = 0o700

// Registry maps data directories to open engine clients. Its zero value is
// not usable; use NewRegistry or Default.
type Registry struct {
	mu      sync.Mutex
	entries map[string]*entry
}

// entry is one open directory.
type entry struct {
	dir      string
	client   *log.Client
	cfg      log.CometConfig // writer settings; zero for a read-only client
	writable bool
	owner    string // the component that opened it, for error messages
	refs     int
	// telemetry is the engine telemetry of the directory, once a
	// component reports it.
	telemetry engineTelemetry
}

var defaultRegistry = NewRegistry()

// Default returns the process-wide registry the components use.
func Default() *Registry { return defaultRegistry }

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{entries: map[string]*entry{}} }

// OpenWriter returns a handle on a writable client for dir, opening it with
// cfg if no component of this process has it open. owner names the caller
// (its component ID) in error messages. It fails with a *ConflictError when
// another writer opened dir with different settings, and when dir is open
// read-only (a reader started before any writer). Cost: directory creation
// and, on first open, the engine's recovery of every shard.
func (r *Registry) OpenWriter(dir string, cfg log.CometConfig, owner string) (*Handle, error) {
	key, err := canonicalDir(dir)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.entries[key]; e != nil {
		if !e.writable {
			return nil, fmt.Errorf("comet directory %q is open read-only by %s: a writer must start before the readers of its directory", key, e.owner)
		}
		if diffs := diffConfig(e.cfg, cfg); len(diffs) > 0 {
			return nil, &ConflictError{Directory: key, Owner: e.owner, Settings: diffs}
		}
		e.refs++
		return &Handle{reg: r, e: e}, nil
	}
	cfg.Concurrency.ReadOnly = false
	client, err := log.NewClientWithConfig(key, cfg)
	if err != nil {
		return nil, fmt.Errorf("open comet directory %q: %w", key, err)
	}
	e := &entry{dir: key, client: client, cfg: cfg, writable: true, owner: owner, refs: 1}
	r.entries[key] = e
	return &Handle{reg: r, e: e}, nil
}

// OpenReader returns a handle on the client of dir: the writable one if a
// writer of this process has it open, otherwise a read-only client (the
// writer is another process, or none yet), created with logger. A missing
// directory is created so a reader may start before its writer process.
func (r *Registry) OpenReader(dir string, logger *zap.Logger, owner string) (*Handle, error) {
	key, err := canonicalDir(dir)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.entries[key]; e != nil {
		e.refs++
		return &Handle{reg: r, e: e}, nil
	}
	cfg := log.DefaultCometConfig()
	cfg.Concurrency.ReadOnly = true
	cfg.Logger = logger
	client, err := log.NewClientWithConfig(key, cfg)
	if err != nil {
		return nil, fmt.Errorf("open comet directory %q read-only: %w", key, err)
	}
	e := &entry{dir: key, client: client, owner: owner, refs: 1}
	r.entries[key] = e
	return &Handle{reg: r, e: e}, nil
}

// release drops h's reference and closes the client with the last one.
func (r *Registry) release(h *Handle) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := h.e
	e.stopTelemetry(h)
	e.refs--
	if e.refs > 0 {
		return nil
	}
	delete(r.entries, e.dir)
	if err := e.client.Close(); err != nil {
		return fmt.Errorf("close comet directory %q: %w", e.dir, err)
	}
	return nil
}

// canonicalDir creates dir if needed and returns its absolute path with
// symbolic links resolved, so two spellings of one directory share a
// client instead of colliding on the engine's lock.
func canonicalDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("comet directory must not be empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("comet directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, dirMode); err != nil {
		return "", fmt.Errorf("create comet directory %q: %w", abs, err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("comet directory %q: %w", abs, err)
	}
	return resolved, nil
}
