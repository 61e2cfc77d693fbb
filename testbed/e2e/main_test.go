// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/comet-otel/comet/testbed/internal/collector"
	"github.com/comet-otel/comet/testbed/internal/report"
)

// Knobs, all optional (see the testbed README):
//
//	TESTBED_COLLECTOR     use this prebuilt binary instead of building with ocb
//	TESTBED_MANIFEST      ocb manifest to build from (default: the repository's builder-config.yaml)
//	TESTBED_REQUIRE_COMET fail, instead of skipping, when a comet component is not in the binary
//	TESTBED_RESULTS       directory for the results tables and collector logs (default testbed/results)
//	TESTBED_DURATION, TESTBED_OUTAGE_ITEMS, TESTBED_CRASH_ROUNDS, TESTBED_CRASH_LOAD,
//	TESTBED_BUDGET_MIB    scenario sizes (see scaleFromEnv)
const (
	envCollector    = "TESTBED_COLLECTOR"
	envManifest     = "TESTBED_MANIFEST"
	envRequireComet = "TESTBED_REQUIRE_COMET"
	envResults      = "TESTBED_RESULTS"
)

var results = report.New()

func TestMain(m *testing.M) {
	flag.Parse()
	started := time.Now()
	code := m.Run()
	if !results.Empty() {
		path, err := results.Write(resultsDir(), reportHeader(started), started)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		} else {
			fmt.Printf("testbed results: %s\n", path)
			if testing.Verbose() {
				fmt.Println(results.Markdown(nil))
			}
		}
	}
	os.Exit(code)
}

func testbedDir() string {
	// go test runs a package's tests in its directory: testbed/e2e.
	dir, err := filepath.Abs("..")
	if err != nil {
		return ".."
	}
	return dir
}

func resultsDir() string {
	if d := os.Getenv(envResults); d != "" {
		return d
	}
	return filepath.Join(testbedDir(), "results")
}

// built is the collector binary shared by every test of this run, built once on first use.
var built struct {
	once       sync.Once
	bin        string
	components map[string]bool // "exporter/comet", "extension/file_storage", ...
	dropped    []string
	fallback   error // why the full build failed, when the binary was built without comet
	err        error
}

// collectorBinary returns the binary, building it with ocb on first call.
func collectorBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.bin, built.dropped, built.fallback, built.err = buildCollector()
		if built.err == nil {
			built.components, built.err = listComponents(built.bin)
		}
	})
	if built.err != nil {
		t.Fatalf("collector: %v", built.err)
	}
	return built.bin
}

func buildCollector() (bin string, dropped []string, fallback, err error) {
	if bin := os.Getenv(envCollector); bin != "" {
		return bin, nil, nil, nil
	}
	manifest := os.Getenv(envManifest)
	if manifest == "" {
		manifest = filepath.Join(testbedDir(), "..", "builder-config.yaml")
	}
	out := filepath.Join(testbedDir(), "_build")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", nil, nil, err
	}
	logPath := filepath.Join(out, "build.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", nil, nil, err
	}
	defer logFile.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	res, err := collector.Build(ctx, collector.BuildOptions{
		Manifest: manifest,
		OutDir:   out,
		// Until the comet packages exist (and compile), build the rest so that the baselines run.
		SkipUnready: os.Getenv(envRequireComet) == "",
		Log:         logFile,
	})
	if err != nil {
		return "", nil, nil, fmt.Errorf("%w\nlast lines of %s:\n%s", err, logPath, tail(logPath, 30))
	}
	if res.Fallback != nil {
		fmt.Fprintf(os.Stderr, "testbed: WARNING: the full build failed, built without the local comet components; their tests skip. First error:\n%v\n", res.Fallback)
	} else if len(res.Dropped) > 0 {
		fmt.Fprintf(os.Stderr, "testbed: built without %v (no NewFactory in the tree yet); their tests skip\n", res.Dropped)
	}
	return res.Binary, res.Dropped, res.Fallback, nil
}

// listComponents asks the binary which components it has.
func listComponents(bin string) (map[string]bool, error) {
	out, err := exec.Command(bin, "components").Output()
	if err != nil {
		return nil, fmt.Errorf("%s components: %w", bin, err)
	}
	type named []struct {
		Name string `yaml:"name"`
	}
	var doc struct {
		Receivers, Processors, Exporters, Connectors, Extensions named
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("%s components: %w", bin, err)
	}
	have := map[string]bool{}
	for kind, list := range map[string]named{
		"receiver": doc.Receivers, "processor": doc.Processors, "exporter": doc.Exporters,
		"connector": doc.Connectors, "extension": doc.Extensions,
	} {
		for _, c := range list {
			have[kind+"/"+c.Name] = true
		}
	}
	return have, nil
}

// requireComponents skips the test (or fails it under TESTBED_REQUIRE_COMET) when the binary
// lacks one of needs.
func requireComponents(t *testing.T, needs []string) {
	t.Helper()
	collectorBinary(t)
	for _, n := range needs {
		if built.components[n] {
			continue
		}
		msg := fmt.Sprintf("the collector has no %s (built without %v)", n, built.dropped)
		if built.fallback != nil {
			msg = fmt.Sprintf("the collector has no %s: the build with the comet components failed (%v)", n, built.fallback)
		}
		if os.Getenv(envRequireComet) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// reportHeader states what was measured, on what, with which command.
func reportHeader(started time.Time) []string {
	var knobs []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TESTBED_") {
			knobs = append(knobs, kv+" ")
		}
	}
	cmd := "cd testbed && " + strings.Join(knobs, "") + "go test -count=1 -timeout 90m -v"
	if testing.Short() {
		cmd += " -short"
	}
	cmd += " ./e2e"
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		cmd += " -run '" + f.Value.String() + "'"
	}
	rev := "unknown"
	if out, err := exec.Command("git", "-C", testbedDir(), "rev-parse", "--short", "HEAD").Output(); err == nil {
		rev = strings.TrimSpace(string(out))
	}
	var missing []string
	if built.fallback != nil {
		missing = append(missing, "- **built without the comet components: the full build failed** (see testbed/_build/build.log)")
	} else if len(built.dropped) > 0 {
		missing = append(missing, fmt.Sprintf("- **built without %s** (not in the tree yet): their rows are missing", strings.Join(built.dropped, ", ")))
	}
	return append([]string{
		"# Comet testbed results",
		"",
		fmt.Sprintf("- date: %s", started.UTC().Format(time.RFC3339)),
		fmt.Sprintf("- command: `%s`", cmd),
		fmt.Sprintf("- commit: %s; collector: %s (ocb %s)", rev, filepath.Base(built.bin), releaseOCB()),
		fmt.Sprintf("- machine: %d CPUs, %s RAM, Linux %s, %s; load generator and mock backend share the machine with the collector",
			runtime.NumCPU(), memTotal(), kernelRelease(), runtime.Version()),
	}, missing...)
}

// releaseOCB names the builder of the release in versions.env.
func releaseOCB() string {
	v, err := collector.ReadVersions(filepath.Dir(testbedDir()))
	if err != nil {
		return err.Error()
	}
	return v.OCB()
}

func memTotal() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err == nil {
				return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	return "?"
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
