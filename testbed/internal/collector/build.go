// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package collector builds the otelcol-comet distribution with ocb and controls collector
// processes: start with a generated config, wait for readiness, graceful stop, kill -9, and
// resource sampling from /proc.
package collector // import "github.com/comet-otel/comet/testbed/internal/collector"

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultOCB is the ocb the distribution is built with; it matches the pinned collector core.
const DefaultOCB = "go.opentelemetry.io/collector/cmd/builder@v0.162.0"

// BuildOptions says what to build and where.
type BuildOptions struct {
	// Manifest is the ocb manifest, e.g. the repository's builder-config.yaml. Its relative
	// output_path and relative replace targets are resolved from the manifest's directory,
	// which is where its README tells users to run ocb.
	Manifest string
	// OutDir receives the prepared manifest, the generated sources and the binary.
	OutDir string
	// OCB is the `go run` target of the builder. Default DefaultOCB.
	OCB string
	// DropMissingLocal removes components whose package would come from a local replace but
	// is not there yet (no non-test .go file declaring NewFactory), instead of failing the
	// build. If the build still fails, it is retried once without any local component, so
	// that a package half-way through being written does not stop the other scenarios.
	DropMissingLocal bool
	// Log receives ocb's output. Default: discarded.
	Log io.Writer
}

// BuildResult describes a finished build.
type BuildResult struct {
	Binary   string   // absolute path of the collector binary
	Manifest string   // the prepared manifest ocb ran with
	Dropped  []string // import paths removed under DropMissingLocal
	// Fallback is set when the first build failed and the binary was built without any
	// local component; it holds that first error.
	Fallback error
}

// Build prepares the manifest and runs ocb. It needs the Go toolchain and the module proxy.
func Build(ctx context.Context, opts BuildOptions) (BuildResult, error) {
	if opts.OCB == "" {
		opts.OCB = DefaultOCB
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	outDir, err := filepath.Abs(opts.OutDir)
	if err != nil {
		return BuildResult{}, fmt.Errorf("build: output dir: %w", err)
	}
	distDir := filepath.Join(outDir, "dist")
	if err := os.MkdirAll(distDir, 0o755); err != nil {
		return BuildResult{}, fmt.Errorf("build: %w", err)
	}
	res, err := buildOnce(ctx, opts, outDir, distDir, KeepAll)
	if err == nil || !opts.DropMissingLocal {
		return res, err
	}
	fmt.Fprintf(opts.Log, "\n=== build failed (%v); retrying without local components\n", err)
	res, err2 := buildOnce(ctx, opts, outDir, distDir, DropLocal)
	if err2 != nil {
		return BuildResult{}, err
	}
	res.Fallback = err
	return res, nil
}

func buildOnce(ctx context.Context, opts BuildOptions, outDir, distDir string, mode DropMode) (BuildResult, error) {
	if opts.DropMissingLocal && mode == KeepAll {
		mode = DropUnwritten
	}
	prepared, name, dropped, err := PrepareManifest(opts.Manifest, distDir, mode)
	if err != nil {
		return BuildResult{}, err
	}
	manifestPath := filepath.Join(outDir, "builder-config.yaml")
	if err := os.WriteFile(manifestPath, prepared, 0o644); err != nil {
		return BuildResult{}, fmt.Errorf("build: write prepared manifest: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "run", opts.OCB, "--config", manifestPath)
	cmd.Dir = outDir
	cmd.Stdout = opts.Log
	cmd.Stderr = opts.Log
	if err := cmd.Run(); err != nil {
		return BuildResult{}, fmt.Errorf("build: ocb --config %s: %w (see the build log)", manifestPath, err)
	}
	bin := filepath.Join(distDir, name)
	if _, err := os.Stat(bin); err != nil {
		return BuildResult{}, fmt.Errorf("build: ocb finished but left no binary: %w", err)
	}
	return BuildResult{Binary: bin, Manifest: manifestPath, Dropped: dropped}, nil
}

// DropMode says which components served by a local replace PrepareManifest leaves out.
type DropMode int

const (
	KeepAll       DropMode = iota // keep every component
	DropUnwritten                 // drop those whose package declares no NewFactory yet
	DropLocal                     // drop every one
)

var componentSections = []string{"receivers", "exporters", "processors", "extensions", "connectors"}

// PrepareManifest reads an ocb manifest and returns it rewritten to build into outputPath:
// dist.output_path is replaced and relative replace targets become absolute. Components are
// left out per mode, and listed. It also returns the distribution name.
func PrepareManifest(manifest, outputPath string, mode DropMode) (out []byte, distName string, dropped []string, err error) {
	raw, err := os.ReadFile(manifest)
	if err != nil {
		return nil, "", nil, fmt.Errorf("manifest: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, "", nil, fmt.Errorf("manifest %s: %w", manifest, err)
	}
	dist, ok := doc["dist"].(map[string]any)
	if !ok {
		return nil, "", nil, fmt.Errorf("manifest %s: no dist section", manifest)
	}
	distName, _ = dist["name"].(string)
	if distName == "" {
		return nil, "", nil, fmt.Errorf("manifest %s: dist.name is empty", manifest)
	}
	manifestDir, err := filepath.Abs(filepath.Dir(manifest))
	if err != nil {
		return nil, "", nil, fmt.Errorf("manifest: %w", err)
	}
	origOut, _ := dist["output_path"].(string)
	if origOut == "" {
		return nil, "", nil, fmt.Errorf("manifest %s: dist.output_path is empty", manifest)
	}
	if !filepath.IsAbs(origOut) {
		origOut = filepath.Join(manifestDir, origOut)
	}
	dist["output_path"] = outputPath

	// Replace targets are relative to the output directory in the generated go.mod.
	localModules := map[string]string{} // module path -> absolute directory
	if reps, ok := doc["replaces"].([]any); ok {
		for i, r := range reps {
			line, _ := r.(string)
			from, to, found := strings.Cut(line, "=>")
			if !found {
				return nil, "", nil, fmt.Errorf("manifest %s: replace %q has no =>", manifest, line)
			}
			from, to = strings.TrimSpace(from), strings.TrimSpace(to)
			if !strings.HasPrefix(to, "./") && !strings.HasPrefix(to, "../") && to != "." && to != ".." {
				continue // a module version, not a directory
			}
			abs := filepath.Clean(filepath.Join(origOut, to))
			localModules[strings.Fields(from)[0]] = abs
			reps[i] = from + " => " + abs
		}
	}

	if mode != KeepAll {
		for _, section := range componentSections {
			list, ok := doc[section].([]any)
			if !ok {
				continue
			}
			kept := list[:0]
			for _, entry := range list {
				comp, _ := entry.(map[string]any)
				if imp := localPackage(comp, localModules); imp != "" && (mode == DropLocal || !hasFactory(localModules, comp, imp)) {
					dropped = append(dropped, imp)
					continue
				}
				kept = append(kept, entry)
			}
			doc[section] = kept
		}
	}

	out, err = yaml.Marshal(doc)
	if err != nil {
		return nil, "", nil, fmt.Errorf("manifest: encode: %w", err)
	}
	return out, distName, dropped, nil
}

// localPackage returns the component's import path if it lives in a locally replaced
// module, "" otherwise.
func localPackage(comp map[string]any, localModules map[string]string) string {
	gomod, _ := comp["gomod"].(string)
	fields := strings.Fields(gomod)
	if len(fields) == 0 {
		return ""
	}
	if _, ok := localModules[fields[0]]; !ok {
		return ""
	}
	imp, _ := comp["import"].(string)
	if imp == "" {
		imp = fields[0]
	}
	return imp
}

// hasFactory reports whether the local package imp has a non-test Go file declaring NewFactory.
func hasFactory(localModules map[string]string, comp map[string]any, imp string) bool {
	gomod, _ := comp["gomod"].(string)
	mod := strings.Fields(gomod)[0]
	rel, ok := strings.CutPrefix(imp, mod)
	if !ok {
		return false
	}
	dir := filepath.Join(localModules[mod], filepath.FromSlash(rel))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil && strings.Contains(string(src), "func NewFactory(") {
			return true
		}
	}
	return false
}
