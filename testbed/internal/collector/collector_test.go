// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestPrepareManifest_RewritesPathsAndDropsMissingLocalPackages(t *testing.T) {
	repo := t.TempDir()
	writeFile(t, filepath.Join(repo, "present", "factory.go"), "package present\n\nfunc NewFactory() {}\n")
	writeFile(t, filepath.Join(repo, "testonly", "x_test.go"), "package testonly\n\nfunc NewFactory() {}\n")
	writeFile(t, filepath.Join(repo, "missing", "doc.go"), "package missing\n")
	manifest := filepath.Join(repo, "builder-config.yaml")
	writeFile(t, manifest, `dist:
  name: otelcol-x
  output_path: ./_build
exporters:
  - gomod: go.opentelemetry.io/collector/exporter/debugexporter v0.162.0
  - gomod: example.com/repo v0.0.0
    import: example.com/repo/present
  - gomod: example.com/repo v0.0.0
    import: example.com/repo/missing
extensions:
  - gomod: example.com/repo v0.0.0
    import: example.com/repo/testonly
replaces:
  - example.com/repo => ../
  - example.com/other v1.0.0 => example.com/fork v1.0.1
`)
	out, name, dropped, err := PrepareManifest(manifest, "/tmp/out/dist", func(_, _, pkgDir string) bool { return !hasFactory(pkgDir) })
	if err != nil {
		t.Fatal(err)
	}
	if name != "otelcol-x" {
		t.Errorf("name = %q", name)
	}
	if want := []string{"example.com/repo/missing", "example.com/repo/testonly"}; !slices.Equal(dropped, want) {
		t.Errorf("dropped = %v, want %v", dropped, want)
	}
	var doc struct {
		Dist struct {
			OutputPath string `yaml:"output_path"`
		}
		Exporters  []map[string]string
		Extensions []map[string]string
		Replaces   []string
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Dist.OutputPath != "/tmp/out/dist" {
		t.Errorf("output_path = %q", doc.Dist.OutputPath)
	}
	if len(doc.Exporters) != 2 || doc.Exporters[1]["import"] != "example.com/repo/present" || len(doc.Extensions) != 0 {
		t.Errorf("components after drop: exporters %v extensions %v", doc.Exporters, doc.Extensions)
	}
	want := []string{"example.com/repo => " + repo, "example.com/other v1.0.0 => example.com/fork v1.0.1"}
	if !slices.Equal(doc.Replaces, want) {
		t.Errorf("replaces = %q, want %q", doc.Replaces, want)
	}

	_, _, dropped, err = PrepareManifest(manifest, "/tmp/out/dist", nil)
	if err != nil || len(dropped) != 0 {
		t.Errorf("nil drop: dropped %v, err %v", dropped, err)
	}
	_, _, dropped, err = PrepareManifest(manifest, "/tmp/out/dist", func(string, string, string) bool { return true })
	if want := []string{"example.com/repo/present", "example.com/repo/missing", "example.com/repo/testonly"}; err != nil || !slices.Equal(dropped, want) {
		t.Errorf("drop all: dropped %v, err %v; want %v", dropped, err, want)
	}
}

func TestProcess_StopIsGracefulAndKillIsNot(t *testing.T) {
	log := filepath.Join(t.TempDir(), "proc.log")
	script := `trap 'echo bye; exit 0' TERM; echo hello; while :; do sleep 0.05; done`
	p, err := Start(Command{Bin: "/bin/sh", Args: []string{"-c", script}, LogPath: log})
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.Sample()
	if err != nil || u.PeakRSS <= 0 {
		t.Fatalf("Sample = %+v, %v", u, err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if tail := p.LogTail(5); !strings.Contains(tail, "hello") || !strings.Contains(tail, "bye") {
		t.Errorf("log tail = %q", tail)
	}

	p, err = Start(Command{Bin: "/bin/sh", Args: []string{"-c", script}, LogPath: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if !p.Exited() || p.ExitErr() == nil {
		t.Fatalf("after kill: exited %v, err %v", p.Exited(), p.ExitErr())
	}
}

func TestProcess_WaitHTTPOK_ReportsEarlyExit(t *testing.T) {
	p, err := Start(Command{Bin: "/bin/sh", Args: []string{"-c", "echo boom; exit 3"}, LogPath: filepath.Join(t.TempDir(), "p.log")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = p.WaitHTTPOK(ctx, "http://127.0.0.1:1/")
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("WaitHTTPOK = %v, want an error quoting the log", err)
	}
}

func TestDirUsage(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a", "seg"), strings.Repeat("x", 10000))
	writeFile(t, filepath.Join(dir, "b"), "yz")
	u, err := DirUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if u.Files != 2 || u.Apparent != 10002 || u.Allocated < 10002 {
		t.Fatalf("DirUsage = %+v", u)
	}
	if u, err := DirUsage(filepath.Join(dir, "nope")); err != nil || u.Files != 0 {
		t.Fatalf("missing dir: %+v, %v", u, err)
	}
}

func TestScrapeMetrics_SumsOverLabels(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `# HELP otelcol_x x
# TYPE otelcol_x counter
otelcol_x{exporter="a"} 3
otelcol_x{exporter="b",note="a}b"} 4.5
otelcol_plain 7 1700000000
`)
	}))
	defer srv.Close()
	m, err := ScrapeMetrics(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if m["otelcol_x"] != 7.5 || m["otelcol_plain"] != 7 {
		t.Fatalf("metrics = %v", m)
	}
}

func TestFreePorts_Distinct(t *testing.T) {
	ports, err := FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports = %v", ports)
		}
		seen[p] = true
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDeletedOpenBytes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "seg")
	writeFile(t, path, strings.Repeat("x", 4096))
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n, err := DeletedOpenBytes(os.Getpid(), dir); err != nil || n != 0 {
		t.Fatalf("before delete: %d, %v", n, err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if n, err := DeletedOpenBytes(os.Getpid(), dir); err != nil || n != 4096 {
		t.Fatalf("after delete: %d, %v; want 4096", n, err)
	}
}
