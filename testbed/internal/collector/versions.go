// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package collector // import "github.com/comet-otel/comet/testbed/internal/collector"

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// VersionsFile is the file, at the repository root, that names the collector release.
const VersionsFile = "versions.env"

// Versions is the collector release the repository builds against.
type Versions struct {
	Stable   string // core modules at v1.x, such as v1.71.0
	Unstable string // core modules at v0.x, and ocb, such as v0.165.0
	Contrib  string // contrib modules, such as v0.165.1
}

// OCB is the `go run` target of the builder of this release.
func (v Versions) OCB() string {
	return "go.opentelemetry.io/collector/cmd/builder@" + v.Unstable
}

// ReadVersions reads versions.env in repoRoot: KEY=value lines, # comments.
func ReadVersions(repoRoot string) (Versions, error) {
	path := filepath.Join(repoRoot, VersionsFile)
	f, err := os.Open(path)
	if err != nil {
		return Versions{}, fmt.Errorf("collector release: %w", err)
	}
	defer f.Close()
	var v Versions
	fields := map[string]*string{"COLLECTOR_STABLE": &v.Stable, "COLLECTOR": &v.Unstable, "CONTRIB": &v.Contrib}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		dst, known := fields[key]
		if !ok || !known {
			return Versions{}, fmt.Errorf("%s:%d: want COLLECTOR_STABLE, COLLECTOR or CONTRIB=<version>, got %q", path, line, text)
		}
		*dst = value
	}
	if err := sc.Err(); err != nil {
		return Versions{}, fmt.Errorf("%s: %w", path, err)
	}
	for key, dst := range fields {
		if !strings.HasPrefix(*dst, "v") {
			return Versions{}, fmt.Errorf("%s: %s is missing or not a version (%q)", path, key, *dst)
		}
	}
	return v, nil
}

// ModuleVersion is the version of the release that a collector module path should have:
// contrib modules take Contrib, core modules Stable or Unstable as their current version's
// major says. ok is false for a module outside the release.
func (v Versions) ModuleVersion(module, current string) (want string, ok bool) {
	switch {
	case strings.HasPrefix(module, "github.com/open-telemetry/opentelemetry-collector-contrib/"):
		return v.Contrib, true
	case strings.HasPrefix(module, "go.opentelemetry.io/collector/"):
		if strings.HasPrefix(current, "v1.") {
			return v.Stable, true
		}
		return v.Unstable, true
	}
	return "", false
}
