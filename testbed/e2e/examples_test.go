// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comet-otel/comet/testbed/internal/collector"
	"github.com/comet-otel/comet/testbed/internal/loadgen"
	"github.com/comet-otel/comet/testbed/internal/mockbackend"
)

// TestExamples validates every shipped example with the built binary (`otelcol-comet
// validate`), from the repository root as their READMEs say, so that none can rot.
func TestExamples(t *testing.T) {
	root := filepath.Join(testbedDir(), "..")
	cases := []struct {
		name    string
		flags   []string // before the configs, such as feature gates
		configs []string
		env     []string
		needs   []string
	}{
		{
			name:    "edge-buffer",
			configs: []string{"examples/edge-buffer.yaml"},
			needs:   []string{"receiver/comet", "exporter/comet", "exporter/debug", "extension/healthcheckv2", "processor/memory_limiter"},
		},
		{
			name:    "edge-buffer+upstream",
			configs: []string{"examples/edge-buffer.yaml", "examples/edge-buffer-upstream.yaml"},
			env:     []string{"COMET_UPSTREAM_ENDPOINT=https://otlp.example.com:4318"},
			needs:   []string{"receiver/comet", "exporter/comet", "exporter/otlp_http"},
		},
		{
			name:    "edge-buffer+upstream-grpc",
			configs: []string{"examples/edge-buffer.yaml", "examples/edge-buffer-upstream-grpc.yaml"},
			env:     []string{"COMET_UPSTREAM_GRPC_ENDPOINT=otlp.example.com:4317"},
			needs:   []string{"receiver/comet", "exporter/comet", "exporter/otlp_grpc", "extension/grpc_reconnect"},
		},
		{
			name:    "profiles",
			flags:   []string{"--feature-gates=service.profilesSupport"},
			configs: []string{"examples/profiles.yaml"},
			needs:   []string{"receiver/comet", "exporter/comet", "extension/healthcheckv2"},
		},
		{
			name:    "persistent-queue",
			configs: []string{"examples/persistent-queue.yaml"},
			needs:   []string{"extension/comet_storage", "exporter/otlp_http"},
		},
		{
			name:    "split-process/multi-writer",
			configs: []string{"examples/split-process/writer.yaml", "examples/split-process/multi-writer.yaml"},
			needs:   []string{"exporter/comet"},
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
			args := append([]string{"validate"}, c.flags...)
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

// TestExamples_Deliver runs the examples as users would, from a fresh working directory with
// the upstream pointed at the mock backend, and checks that everything acknowledged arrives.
// A generated overlay (the last --config) moves their fixed ports to free loopback ones.
func TestExamples_Deliver(t *testing.T) {
	root := filepath.Join(testbedDir(), "..")
	type proc struct {
		configs []string
		ingest  bool // has the OTLP receiver the load goes to
	}
	cases := []struct {
		name  string
		needs []string
		procs []proc
		// exactlyOnce: the collectors stop cleanly, so nothing may arrive twice.
		exactlyOnce bool
		// rolling: a rolling restart during an outage: the backend refuses everything while
		// the first collector takes its share of the load and stops with it buffered, and
		// while the second takes its own; then the backend is back and the second delivers
		// both shares.
		rolling bool
	}{
		{
			name:  "edge-buffer+upstream",
			needs: []string{"receiver/comet", "exporter/comet", "exporter/otlp_http"},
			procs: []proc{{configs: []string{"examples/edge-buffer.yaml", "examples/edge-buffer-upstream.yaml"}, ingest: true}},
		},
		{
			name:  "edge-buffer+upstream-grpc",
			needs: []string{"receiver/comet", "exporter/comet", "exporter/otlp_grpc", "extension/grpc_reconnect"},
			procs: []proc{{configs: []string{"examples/edge-buffer.yaml", "examples/edge-buffer-upstream-grpc.yaml"}, ingest: true}},
		},
		{
			name:  "persistent-queue",
			needs: []string{"extension/comet_storage", "exporter/otlp_http"},
			procs: []proc{{configs: []string{"examples/persistent-queue.yaml"}, ingest: true}},
		},
		{
			name:  "split-process",
			needs: []string{"receiver/comet", "exporter/comet", "exporter/otlp_http"},
			procs: []proc{
				{configs: []string{"examples/split-process/writer.yaml"}, ingest: true},
				{configs: []string{"examples/split-process/reader.yaml", "examples/edge-buffer-upstream.yaml"}},
			},
		},
		{
			// Two drain collectors with the same group split the shards (a scaled-out drain,
			// or both collectors of a rolling restart).
			name:  "split-process/two-readers",
			needs: []string{"receiver/comet", "exporter/comet", "exporter/otlp_http"},
			procs: []proc{
				{configs: []string{"examples/split-process/writer.yaml"}, ingest: true},
				{configs: []string{"examples/split-process/reader.yaml", "examples/edge-buffer-upstream.yaml"}},
				{configs: []string{"examples/split-process/reader.yaml", "examples/edge-buffer-upstream.yaml"}},
			},
			exactlyOnce: true,
		},
		{
			// Two writer collectors on one directory (multi_process), each taking load, and a
			// drain collector.
			name:  "split-process/two-writers",
			needs: []string{"receiver/comet", "exporter/comet", "exporter/otlp_http"},
			procs: []proc{
				{configs: []string{"examples/split-process/writer.yaml", "examples/split-process/multi-writer.yaml"}, ingest: true},
				{configs: []string{"examples/split-process/writer.yaml", "examples/split-process/multi-writer.yaml"}, ingest: true},
				{configs: []string{"examples/split-process/reader.yaml", "examples/edge-buffer-upstream.yaml"}},
			},
			exactlyOnce: true,
		},
		{
			// A rolling restart of the edge collector (writer and drain in one): the new one
			// starts while the old one runs (multi_process), then the old one stops.
			name:  "edge-buffer/rolling-restart",
			needs: []string{"receiver/comet", "exporter/comet", "exporter/otlp_http"},
			procs: []proc{
				{configs: []string{"examples/edge-buffer.yaml", "examples/edge-buffer-upstream.yaml", "examples/split-process/multi-writer.yaml"}, ingest: true},
				{configs: []string{"examples/edge-buffer.yaml", "examples/edge-buffer-upstream.yaml", "examples/split-process/multi-writer.yaml"}, ingest: true},
			},
			rolling:     true,
			exactlyOnce: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requireComponents(t, c.needs)
			bin := collectorBinary(t)
			backend := startBackend(t)
			cwd := t.TempDir()
			env := []string{"COMET_UPSTREAM_ENDPOINT=" + backend.HTTPEndpoint(), "COMET_UPSTREAM_GRPC_ENDPOINT=" + backend.GRPCEndpoint(),
				"COMET_UPSTREAM_GRPC_INSECURE=true"}
			var procs []*collector.Process
			t.Cleanup(func() {
				for _, p := range procs {
					if !p.Exited() {
						_ = p.Kill()
					}
				}
			})
			var otlpPorts []int
			for i, pc := range c.procs {
				ports, err := collector.FreePorts(4)
				if err != nil {
					t.Fatal(err)
				}
				overlay := filepath.Join(cwd, fmt.Sprintf("ports-%d.yaml", i))
				if err := os.WriteFile(overlay, []byte(portsOverlay(ports, pc.ingest)), 0o600); err != nil {
					t.Fatal(err)
				}
				args := []string{}
				for _, cfg := range pc.configs {
					args = append(args, "--config", filepath.Join(root, cfg))
				}
				args = append(args, "--config", overlay)
				logPath := filepath.Join(resultsDir(), "logs", strings.ReplaceAll(t.Name(), "/", "_")+fmt.Sprintf("-%d.log", i))
				if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
					t.Fatal(err)
				}
				_ = os.Remove(logPath)
				p, err := collector.Start(collector.Command{Bin: bin, Args: args, Dir: cwd, Env: env, LogPath: logPath})
				if err != nil {
					t.Fatal(err)
				}
				procs = append(procs, p)
				ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
				err = p.WaitHTTPOK(ctx, fmt.Sprintf("http://127.0.0.1:%d/status", ports[0]))
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				if pc.ingest {
					otlpPorts = append(otlpPorts, ports[2])
				}
			}

			// The load, 20,000 items, is split between the collectors that ingest.
			per := uint64(20_000 / len(otlpPorts))
			live := procs
			var acked []*loadgen.Generator
			if c.rolling {
				backend.SetUp(false)
			}
			for i, port := range otlpPorts {
				g, err := loadgen.New(loadgen.Options{Endpoint: fmt.Sprintf("127.0.0.1:%d", port), TotalItems: per, FirstSeq: uint64(i) * 1_000_000})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				err = g.Run(ctx)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				if got := g.Stats().AckedItems; got != int64(per) {
					t.Fatalf("collector %d acknowledged %d of %d items; %s", i, got, per, g.Stats().CodesString())
				}
				acked = append(acked, g)
				if c.rolling && i == 0 {
					if err := procs[0].Stop(stopTimeout); err != nil {
						t.Fatal(err)
					}
					live = procs[1:]
				}
			}
			if c.rolling {
				if st := backend.Stats(); st.Requests != 0 || st.Refused == 0 {
					t.Fatalf("the backend must have refused, and only refused, while down: %+v", st)
				}
				backend.SetUp(true)
			}
			for _, g := range acked {
				waitDelivered(t, g.Acked(), backend, time.Minute, live...)
			}
			for _, p := range live {
				if err := p.Stop(stopTimeout); err != nil {
					t.Error(err)
				}
			}
			if d := backend.Stats().Duplicates; d != 0 && c.exactlyOnce {
				t.Errorf("%d duplicates: members of one group must not deliver the same records", d)
			} else if d != 0 {
				t.Logf("%d duplicates", d)
			}
		})
	}
}

// portsOverlay moves an example's health check, own metrics and (for an ingesting collector)
// OTLP endpoints to the given loopback ports: health, metrics, grpc, http.
func portsOverlay(ports []int, ingest bool) string {
	s := fmt.Sprintf(`extensions:
  healthcheckv2:
    http:
      endpoint: 127.0.0.1:%d
service:
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %d
`, ports[0], ports[1])
	if ingest {
		s += fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
      http:
        endpoint: 127.0.0.1:%d
`, ports[2], ports[3])
	}
	return s
}

func startBackend(t *testing.T) *mockbackend.Backend {
	t.Helper()
	b, err := mockbackend.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("backend shutdown: %v", err)
		}
	})
	return b
}
