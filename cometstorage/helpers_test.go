// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/comet-otel/comet/cometstorage/internal/metadata"
)

var (
	testOwner       = component.MustNewIDWithName("otlp", "primary")
	testStorageName = "logs"
)

// testConfig is the default configuration on dir, with compaction rounds
// run by the tests themselves (check_interval far away).
func testConfig(dir string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = dir
	cfg.SegmentSize = minSegmentSize
	cfg.Compaction.CheckInterval = time.Hour
	return cfg
}

// newTestExtension creates and starts an extension on cfg and shuts it
// down when the test ends.
func newTestExtension(t testing.TB, cfg *Config) *storageExtension {
	t.Helper()
	require.NoError(t, cfg.Validate())
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return ext.(*storageExtension)
}

// openTestClient opens the test owner's client on a new extension.
func openTestClient(t testing.TB, cfg *Config) *client {
	t.Helper()
	ext := newTestExtension(t, cfg)
	c, err := ext.GetClient(context.Background(), component.KindExporter, testOwner, testStorageName)
	require.NoError(t, err)
	return c.(*client)
}

// clientDir is the directory of the test owner's client under dir.
func clientDir(dir string) string {
	return filepath.Join(dir, clientDirName(component.KindExporter, testOwner, testStorageName))
}

// segmentFiles lists the segment files of the test owner's client.
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(clientDir(dir), "kv", "v1", "shard-0000", "log-*.comet"))
	require.NoError(t, err)
	return files
}

// diskBytes sums the sizes of the files under dir.
func diskBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var total int64
	require.NoError(t, filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			total += info.Size()
		}
		return err
	}))
	return total
}

func extensionSettings() extension.Settings { return extensiontest.NewNopSettings(metadata.Type) }

func writeFile(path string) error { return os.WriteFile(path, []byte("x"), 0o600) }
