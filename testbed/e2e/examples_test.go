// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExamples validates every shipped example with the built binary (`otelcol-comet
// validate`), from the repository root as their READMEs say, so that none can rot.
func TestExamples(t *testing.T) {
	root := filepath.Join(testbedDir(), "..")
	cases := []struct {
		name    string
		configs []string
		env     []string
		needs   []string
	}{
		{
			name:    "edge-buffer",
			configs: []string{"examples/edge-buffer.yaml"},
			needs:   []string{"receiver/comet", "exporter/comet", "exporter/debug", "extension/health_check", "processor/memory_limiter"},
		},
		{
			name:    "edge-buffer+upstream",
			configs: []string{"examples/edge-buffer.yaml", "examples/edge-buffer-upstream.yaml"},
			env:     []string{"COMET_UPSTREAM_ENDPOINT=https://otlp.example.com:4318"},
			needs:   []string{"receiver/comet", "exporter/comet", "exporter/otlp_http"},
		},
		{
			name:    "persistent-queue",
			configs: []string{"examples/persistent-queue.yaml"},
			needs:   []string{"extension/comet_storage", "exporter/otlp_http"},
		},
		{
			name:    "persistent-queue+upstream",
			configs: []string{"examples/persistent-queue.yaml"},
			env:     []string{"COMET_UPSTREAM_ENDPOINT=https://otlp.example.com:4318"},
			needs:   []string{"extension/comet_storage", "exporter/otlp_http"},
		},
		{
			name:    "split-process/writer",
			configs: []string{"examples/split-process/writer.yaml"},
			needs:   []string{"exporter/comet"},
		},
		{
			name:    "split-process/reader",
			configs: []string{"examples/split-process/reader.yaml"},
			needs:   []string{"receiver/comet", "exporter/debug"},
		},
		{
			name:    "split-process/reader+upstream",
			configs: []string{"examples/split-process/reader.yaml", "examples/edge-buffer-upstream.yaml"},
			env:     []string{"COMET_UPSTREAM_ENDPOINT=https://otlp.example.com:4318"},
			needs:   []string{"receiver/comet", "exporter/otlp_http"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requireComponents(t, c.needs)
			bin := collectorBinary(t)
			args := []string{"validate"}
			for _, cfg := range c.configs {
				args = append(args, "--config", cfg)
			}
			out, err := runIn(t, root, bin, args, c.env)
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
			}
		})
	}

	// Every example file must be covered above.
	covered := map[string]bool{}
	for _, c := range cases {
		for _, cfg := range c.configs {
			covered[cfg] = true
		}
	}
	err := filepath.WalkDir(filepath.Join(root, "examples"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if !covered[filepath.ToSlash(rel)] {
			t.Errorf("example %s is not validated by TestExamples", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// runIn runs bin in dir, bounded in time, and returns its output. The environment is ours
// without COMET_* variables, plus env: an example must work with none set.
func runIn(t *testing.T, dir, bin string, args, env []string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COMET_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
