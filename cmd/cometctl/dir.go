// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/comet-otel/comet/internal/log"
)

// dataDir returns the absolute path of dir after checking that it is a
// comet data directory: it holds comet.lock (a writer opened it) or
// stream directories (<namespace>/<version>/shard-NNNN). The error says
// why not: missing, not a directory, empty, or foreign.
func dataDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("directory %q: %w", dir, err)
	}
	info, err := os.Stat(abs)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s does not exist", abs)
	}
	if err != nil {
		return "", err
	}
	if !info.IsDir() {
		return "", fmt.Errorf("%s is not a directory", abs)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return "", err
	}
	if len(entries) == 0 {
		return "", fmt.Errorf("%s is empty: not a comet data directory (a collector's comet exporter creates comet.lock and <signal>/v1/shard-NNNN directories in it)", abs)
	}
	if ok, err := isDataDir(abs); err != nil || ok {
		return abs, err
	}
	return "", fmt.Errorf("%s is not a comet data directory: it has no comet.lock and no <namespace>/<version>/shard-NNNN directories%s", abs, suggestSubdirs(abs, entries))
}

// isDataDir reports whether dir holds a lock file or stream directories.
func isDataDir(dir string) (bool, error) {
	lock, err := log.InspectLock(dir)
	if err != nil {
		return false, err
	}
	if lock.Exists {
		return true, nil
	}
	streams, err := log.StreamsOnDisk(dir)
	return len(streams) > 0, err
}

// suggestSubdirs names subdirectories of a foreign directory that hold a
// lock file (the user may have given their parent). It looks no deeper,
// so it stays cheap on a large directory.
func suggestSubdirs(dir string, entries []os.DirEntry) string {
	var found []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if lock, err := log.InspectLock(filepath.Join(dir, e.Name())); err == nil && lock.Exists {
			found = append(found, filepath.Join(dir, e.Name()))
		}
	}
	if len(found) == 0 {
		return ""
	}
	return "; these subdirectories are: " + strings.Join(found, ", ")
}

// openReadOnly opens the directory as a reader: no lock, no repair, no
// background work, and nothing written as long as the caller does not
// consume through a Consumer. Warnings of the engine (damaged records,
// indexes being ignored) go to stderr.
func openReadOnly(dir string, stderr io.Writer) (*log.Client, error) {
	cfg := log.DefaultCometConfig()
	cfg.Concurrency.ReadOnly = true
	cfg.Storage.CheckpointTime = 0 // no consumer offsets to checkpoint
	cfg.Logger = engineLogger(stderr)
	return log.NewClientWithConfig(dir, cfg)
}

// openWriter opens the directory as its writer with cfg, or fails naming
// the lock file and the process that holds it.
func openWriter(dir string, cfg log.CometConfig, stderr io.Writer, what string) (*log.Client, error) {
	cfg.Logger = engineLogger(stderr)
	c, err := log.NewClientWithConfig(dir, cfg)
	if errors.Is(err, log.ErrLocked) {
		lock, _ := log.InspectLock(dir)
		holder := "another process"
		if lock.PID > 0 {
			holder = fmt.Sprintf("process %d", lock.PID)
		}
		return nil, fmt.Errorf("%s refused: %s holds the writer lock %s (a running collector?); stop it and retry", what, holder, lock.Path)
	}
	return c, err
}

// writerConfig is the engine configuration of cometctl's writes: the
// comet exporter's defaults, and no retention, so nothing is deleted.
func writerConfig() log.CometConfig {
	cfg := log.DefaultCometConfig()
	cfg.Retention.MaxAge, cfg.Retention.MaxTotalSize, cfg.Retention.MaxShardSize = 0, 0, 0
	cfg.Retention.DeleteConsumed = false
	return cfg
}

// engineLogger prints the engine's warnings and errors to w, one line each.
func engineLogger(w io.Writer) *zap.Logger {
	enc := zapcore.NewConsoleEncoder(zapcore.EncoderConfig{
		LevelKey:       "level",
		NameKey:        "logger",
		MessageKey:     "msg",
		EncodeLevel:    zapcore.CapitalLevelEncoder,
		EncodeDuration: zapcore.StringDurationEncoder,
		EncodeName:     zapcore.FullNameEncoder,
	})
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), zapcore.WarnLevel)
	return zap.New(core).Named("comet")
}
