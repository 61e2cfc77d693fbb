// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// Golden fixtures are storage directories written by a released format
// (engine format and record payload format) and committed under
// testdata/golden/. Every later release must read them to exactly the
// contents goldenStorageModel computes. A fixture is generated once, by
// the release whose format it records:
//
//	go test ./cometstorage -run TestGolden_Generate -golden.generate testdata/golden/format1
//
// The generator refuses to write into an existing directory: never
// regenerate a committed fixture; a new format gets a new directory.
var goldenGenerate = flag.String("golden.generate", "", "write a golden fixture storage directory at this path (it must not exist)")

const goldenFormat1 = "testdata/golden/format1"

// goldenValue is the value written by operation i.
func goldenValue(i int) []byte {
	return []byte(strings.Repeat(fmt.Sprintf("value %d ", i), 80)[:50+(i*53)%250])
}

// goldenStorageBatches is the fixture's history: batches of operations,
// applied in order, and after which batches a compaction round ran.
func goldenStorageBatches() (batches [][]*storage.Operation, compactAfter map[int]bool) {
	for i := range 160 {
		key := fmt.Sprintf("key-%02d", (i*7)%40)
		switch {
		case i%11 == 5:
			batches = append(batches, []*storage.Operation{storage.DeleteOperation(key)})
		case i%13 == 0:
			batches = append(batches, []*storage.Operation{
				storage.SetOperation(key, goldenValue(i)),
				storage.SetOperation(fmt.Sprintf("batch-%02d", i/13), goldenValue(i+1000)),
				storage.DeleteOperation(fmt.Sprintf("key-%02d", (i+1)%40)),
			})
		default:
			batches = append(batches, []*storage.Operation{storage.SetOperation(key, goldenValue(i))})
		}
	}
	return batches, map[int]bool{79: true, 159: true}
}

// goldenStorageModel is what the fixture holds: its history applied to a map.
func goldenStorageModel() model {
	m := model{}
	batches, _ := goldenStorageBatches()
	for _, ops := range batches {
		for _, op := range ops {
			if op.Type == storage.Delete {
				delete(m, op.Key)
			} else {
				m[op.Key] = op.Value
			}
		}
	}
	return m
}

// goldenSettings is what the generator wrote with: 4 KiB segments, so
// the history spans several and compaction deletes some.
func goldenSettings() clientSettings {
	return clientSettings{
		logger:      zap.NewNop(),
		sync:        SyncConfig{Mode: SyncNone},
		segmentSize: 4096,
		compaction:  CompactionConfig{Ratio: 0.5, CheckInterval: time.Hour},
		dirMode:     0o700,
	}
}

// TestGolden_Generate writes a fixture when -golden.generate names a
// directory; otherwise it does nothing.
func TestGolden_Generate(t *testing.T) {
	out := *goldenGenerate
	if out == "" {
		t.Skip("generates a golden fixture only with -golden.generate <new directory>")
	}
	_, err := os.Stat(out)
	require.ErrorIs(t, err, fs.ErrNotExist, "refusing to overwrite a golden fixture")
	ctx := context.Background()
	c, err := openClient(ctx, clientDir(out), goldenSettings())
	require.NoError(t, err)
	batches, compactAfter := goldenStorageBatches()
	for i, ops := range batches {
		require.NoError(t, c.Batch(ctx, ops...))
		if compactAfter[i] {
			c.maintain()
		}
	}
	require.NoError(t, c.Close(ctx))
	// The lock file holds the generator's PID: not part of the data.
	require.NoError(t, os.Remove(filepath.Join(clientDir(out), "comet.lock")))
}

// segmentHashes maps each segment and index file under dir to the
// SHA-256 of its content.
func segmentHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".comet") || strings.HasSuffix(path, ".index")) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(dir, path)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	}))
	return out
}

// copyFixture copies a fixture into a fresh directory, so tests can open
// it (which writes a lock file) without touching testdata.
func copyFixture(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	copyLiveDir(t, dst, src)
	return dst
}

// TestGolden_Format1_ReadsExactContents opens the format-1 fixture
// through the extension, as a collector would, and checks every key and
// value, that no record was reported damaged, that no segment byte
// changed, and that the store keeps working.
func TestGolden_Format1_ReadsExactContents(t *testing.T) {
	dir := copyFixture(t, goldenFormat1)
	before := segmentHashes(t, dir)
	require.Greater(t, len(before), 2, "the fixture spans several segments")
	want := goldenStorageModel()
	require.Equal(t, 47, len(want), "keys in the fixture")

	c := openTestClient(t, testConfig(dir))
	want.check(t, c)
	checkAccounting(t, c)
	ctx := context.Background()
	require.NoError(t, c.Close(ctx))
	after := segmentHashes(t, dir)
	for name, sum := range before {
		require.Equal(t, sum, after[name], "%s must not be rewritten", name)
	}

	c = openTestClient(t, testConfig(dir))
	require.NoError(t, c.Set(ctx, "after-format-1", []byte("v")))
	want["after-format-1"] = []byte("v")
	want.check(t, c)
}
