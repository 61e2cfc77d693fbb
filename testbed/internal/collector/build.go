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

// BuildOptions says what to build and where.
type BuildOptions struct {
	// Manifest is the ocb manifest, e.g. the repository's builder-config.yaml. Its relative
	// output_path and relative replace targets are resolved from the manifest's directory,
	// which is where its README tells users to run ocb.
	Manifest string
	// OutDir receives the prepared manifest, the generated sources and the binary.
	OutDir string
	// OCB is the `go run` target of the builder. Default: the ocb of the release named in
	// versions.env beside the manifest.
	OCB string
	// SkipUnready leaves out components served by a local replace whose package is not ready:
	// no non-test Go file declares NewFactory, or `go build` of the package fails. If the
	// distribution still fails to build, it is built once more without any local component.
	// This lets the baselines run while the local components are being written.
	SkipUnready bool
	// Log receives ocb's and the go command's output. Default: discarded.
	Log io.Writer
}

// BuildResult describes a finished build.
type BuildResult struct {
	Binary   string   // absolute path of the collector binary
	OCB      string   // the builder it was built with
	Manifest string   // the prepared manifest ocb ran with
	Dropped  []string // import paths left out under SkipUnready
	// Fallback is set when the build with the ready local components failed and the binary
	// was built without any; it holds that first error.
	Fallback error
}

// Build prepares the manifest and runs ocb. It needs the Go toolchain and the module proxy.
func Build(ctx context.Context, opts BuildOptions) (BuildResult, error) {
	if opts.OCB == "" {
		v, err := ReadVersions(filepath.Dir(opts.Manifest))
		if err != nil {
			return BuildResult{}, fmt.Errorf("build: which ocb: %w", err)
		}
		opts.OCB = v.OCB()
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
	if !opts.SkipUnready {
		return buildOnce(ctx, opts, outDir, distDir, nil)
	}
	unready := func(imp, moduleDir, pkgDir string) bool {
		if !hasFactory(pkgDir) {
			return true
		}
		cmd := exec.CommandContext(ctx, "go", "build", imp)
		cmd.Dir = moduleDir
		cmd.Stdout = opts.Log
		cmd.Stderr = opts.Log
		fmt.Fprintf(opts.Log, "=== go build %s\n", imp)
		return cmd.Run() != nil
	}
	res, err := buildOnce(ctx, opts, outDir, distDir, unready)
	if err == nil {
		return res, nil
	}
	fmt.Fprintf(opts.Log, "\n=== build failed (%v); retrying without local components\n", err)
	res, err2 := buildOnce(ctx, opts, outDir, distDir, func(string, string, string) bool { return true })
	if err2 != nil {
		return BuildResult{}, err
	}
	res.Fallback = err
	return res, nil
}

func buildOnce(ctx context.Context, opts BuildOptions, outDir, distDir string, drop DropFunc) (BuildResult, error) {
	prepared, name, dropped, err := PrepareManifest(opts.Manifest, distDir, drop)
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
	return BuildResult{Binary: bin, OCB: opts.OCB, Manifest: manifestPath, Dropped: dropped}, nil
}

// DropFunc decides whether PrepareManifest leaves out a component served by a local replace,
// given its import path, the replaced module's directory and the package's directory.
type DropFunc func(importPath, moduleDir, packageDir string) bool

var componentSections = []string{"receivers", "exporters", "processors", "extensions", "connectors"}

// PrepareManifest reads an ocb manifest and returns it rewritten to build into outputPath:
// dist.output_path is replaced and relative replace targets become absolute. Components
// served by a local replace are left out (and listed) where drop says so; a nil drop keeps
// all. It also returns the distribution name.
func PrepareManifest(manifest, outputPath string, drop DropFunc) (out []byte, distName string, dropped []string, err error) {
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

	if drop != nil {
		for _, section := range componentSections {
			list, ok := doc[section].([]any)
			if !ok {
				continue
			}
			kept := list[:0]
			for _, entry := range list {
				comp, _ := entry.(map[string]any)
				if imp, modDir, pkgDir, local := localPackage(comp, localModules); local && drop(imp, modDir, pkgDir) {
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

// localPackage locates a component that lives in a locally replaced module.
func localPackage(comp map[string]any, localModules map[string]string) (imp, moduleDir, packageDir string, ok bool) {
	gomod, _ := comp["gomod"].(string)
	fields := strings.Fields(gomod)
	if len(fields) == 0 {
		return "", "", "", false
	}
	moduleDir, ok = localModules[fields[0]]
	if !ok {
		return "", "", "", false
	}
	imp, _ = comp["import"].(string)
	if imp == "" {
		imp = fields[0]
	}
	rel, ok := strings.CutPrefix(imp, fields[0])
	if !ok {
		return "", "", "", false
	}
	return imp, moduleDir, filepath.Join(moduleDir, filepath.FromSlash(rel)), true
}

// hasFactory reports whether dir has a non-test Go file declaring NewFactory.
func hasFactory(dir string) bool {
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
