// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVersions_Agree checks that every place naming the collector release names the one in
// versions.env: the ocb manifest, both go.mod files and the ocb commands in the docs. A failure
// names the file and line; scripts/bump-collector.sh fixes them all.
func TestVersions_Agree(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	v, err := ReadVersions(root)
	if err != nil {
		t.Fatal(err)
	}
	gomodLine := regexp.MustCompile(`^\s*(?:require\s+)?((?:go\.opentelemetry\.io/collector|github\.com/open-telemetry/opentelemetry-collector-contrib)/\S+)\s+(v\S+)`)
	manifestLine := regexp.MustCompile(`gomod:\s+((?:go\.opentelemetry\.io/collector|github\.com/open-telemetry/opentelemetry-collector-contrib)/\S+)\s+(v\S+)`)
	ocbCommand := regexp.MustCompile(`cmd/builder@(v[0-9.]+)`)
	// mdatagen is a tool pinned on its own (newer ones cannot be fetched here), with the
	// modules it alone needs.
	pinnedApart := map[string]bool{
		"go.opentelemetry.io/collector/cmd/mdatagen":                  true,
		"go.opentelemetry.io/collector/filter":                        true,
		"go.opentelemetry.io/collector/internal/schemagen":            true,
		"go.opentelemetry.io/collector/confmap/provider/fileprovider": true,
	}
	check := func(rel string, fn func(line string) (module, got string, ok bool)) {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			module, got, ok := fn(line)
			if !ok || pinnedApart[module] {
				continue
			}
			want, inRelease := v.ModuleVersion(module, got)
			if module == "" {
				want, inRelease = v.Unstable, true
			}
			if inRelease && got != want {
				t.Errorf("%s:%d: %s at %s, versions.env says %s", rel, i+1, strings.TrimSpace(line), got, want)
			}
		}
	}
	byRegexp := func(re *regexp.Regexp) func(string) (string, string, bool) {
		return func(line string) (string, string, bool) {
			m := re.FindStringSubmatch(line)
			if m == nil {
				return "", "", false
			}
			return m[1], m[2], true
		}
	}
	check("builder-config.yaml", byRegexp(manifestLine))
	check("go.mod", byRegexp(gomodLine))
	check("testbed/go.mod", byRegexp(gomodLine))
	for _, doc := range []string{"README.md", "examples/README.md", "testbed/README.md", "builder-config.yaml"} {
		check(doc, func(line string) (string, string, bool) {
			m := ocbCommand.FindStringSubmatch(line)
			if m == nil {
				return "", "", false
			}
			return "", m[1], true
		})
	}
}
