// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comet-otel/comet/testbed/internal/blockdev"
	"github.com/comet-otel/comet/testbed/internal/collector"
)

// Helpers for scenarios whose collector keeps its data on a filesystem the test makes and
// mounts (power-loss cuts, full disks): RAM-backed loop images and a rig pointed at them.

// requireLoopFS skips the test, saying why, unless a filesystem of type fs can be made on a
// loop device here.
func requireLoopFS(t *testing.T, fs string) {
	t.Helper()
	if reason := blockdev.Unavailable(); reason != "" {
		t.Skipf("skipped: %s on a loop device %s", fs, reason)
	}
	if reason := blockdev.Unsupported(fs); reason != "" {
		t.Skipf("skipped: %s", reason)
	}
}

// ramWorkDir is a directory in RAM for one test's images, removed at cleanup.
func ramWorkDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(blockdev.RAMDir, "comet-testbed-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// closeImageAtCleanup unmounts, detaches and deletes im when the test ends, pass or fail,
// after killing r's collector if it still runs (on im, it would keep the filesystem busy).
func closeImageAtCleanup(t *testing.T, im *blockdev.Image, r *rig) {
	t.Helper()
	t.Cleanup(func() {
		if r.proc != nil && !r.proc.Exited() {
			_ = r.proc.Kill()
		}
		if err := im.Close(); err != nil {
			t.Errorf("cleanup of %s: %v", im.Path, err)
		}
	})
}

// mountImage attaches im and mounts it on dir, failing the test on error.
func mountImage(t *testing.T, im *blockdev.Image, dir string) {
	t.Helper()
	if err := im.Attach(); err != nil {
		t.Fatal(err)
	}
	if err := im.Mount(dir, ""); err != nil {
		t.Fatal(err)
	}
}

// newRigOn is newRig with the collector's data directory at dataDir (on a test filesystem)
// instead of a temporary directory.
func newRigOn(t *testing.T, v variant, tu tuning, dataDir string) *rig {
	t.Helper()
	r := newRig(t, v, tu)
	r.in.DataDir = dataDir
	cfg, err := v.render(r.in, tu)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.logPath, append([]byte("# config\n"), cfg...), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// tryStart starts the collector like start, but returns the failure (the collector exited or
// never became ready) instead of failing the test: after a power cut, whether the collector
// comes back is a result.
func (r *rig) tryStart() error {
	if r.proc != nil && !r.proc.Exited() {
		return fmt.Errorf("rig: start while the collector runs")
	}
	began := time.Now()
	p, err := collector.Start(collector.Command{Bin: r.bin, Args: []string{"--config", r.cfgPath}, LogPath: r.logPath})
	if err != nil {
		return err
	}
	r.proc = p
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := p.WaitHTTPOK(ctx, fmt.Sprintf("http://127.0.0.1:%d/", r.in.HealthPort)); err != nil {
		if !p.Exited() {
			_ = p.Kill()
		}
		return err
	}
	r.restarts += time.Since(began)
	r.starts++
	return nil
}

// logSize is the current length of the rig's log: pass it to logLinesSince to read what the
// collector logged from then on.
func (r *rig) logSize() int64 {
	st, err := os.Stat(r.logPath)
	if err != nil {
		return 0
	}
	return st.Size()
}

// logLinesSince returns the log lines written after offset.
func (r *rig) logLinesSince(offset int64) []string {
	r.t.Helper()
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		r.t.Fatalf("collector log: %v", err)
	}
	if offset > int64(len(b)) {
		offset = int64(len(b))
	}
	return strings.Split(strings.TrimRight(string(b[offset:]), "\n"), "\n")
}

// logLevel returns the level of a collector log line (console encoding: time, level, caller,
// message, fields, separated by tabs), or "".
func logLevel(line string) string {
	parts := strings.SplitN(line, "\t", 3)
	if len(parts) < 3 {
		return ""
	}
	return strings.ToLower(parts[1])
}

// ramImagePath names an image file in dir.
func ramImagePath(dir, name string) string { return filepath.Join(dir, name+".img") }
