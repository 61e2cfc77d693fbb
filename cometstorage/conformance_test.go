// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// conformanceTarget is a storage.Client implementation under the
// conformance suite.
type conformanceTarget struct {
	// open returns a client on the state kept in dir; the suite closes it.
	open func(t *testing.T, dir string) storage.Client
	// persistent: a client opened again on the same dir after Close sees
	// what the previous one wrote.
	persistent bool
	// fileStorageEdges: the target also behaves like file_storage where
	// the storage.Client contract is silent: Set of an empty key fails,
	// a nil value reads back as a non-nil empty one, and values are
	// copied on Set and on Get.
	fileStorageEdges bool
}

// runConformance checks the observable semantics of storage.Client (and
// storage.Walker when implemented) that exporterhelper's persistent queue
// and other components rely on.
func runConformance(t *testing.T, target conformanceTarget) {
	ctx := context.Background()
	open := func(t *testing.T, dir string) storage.Client {
		c := target.open(t, dir)
		t.Cleanup(func() { _ = c.Close(ctx) })
		return c
	}
	fresh := func(t *testing.T) storage.Client { return open(t, t.TempDir()) }

	t.Run("get_missing_returns_nil", func(t *testing.T) {
		c := fresh(t)
		v, err := c.Get(ctx, "missing")
		require.NoError(t, err)
		require.Nil(t, v)
	})
	t.Run("set_get_overwrite", func(t *testing.T) {
		c := fresh(t)
		require.NoError(t, c.Set(ctx, "k", []byte("v1")))
		requireValue(t, c, "k", []byte("v1"))
		require.NoError(t, c.Set(ctx, "k", []byte("second value")))
		requireValue(t, c, "k", []byte("second value"))
	})
	t.Run("delete_missing_is_noop", func(t *testing.T) {
		c := fresh(t)
		require.NoError(t, c.Delete(ctx, "missing"))
		require.NoError(t, c.Set(ctx, "k", []byte("v")))
		require.NoError(t, c.Delete(ctx, "k"))
		require.NoError(t, c.Delete(ctx, "k"))
		requireValue(t, c, "k", nil)
	})
	t.Run("empty_value_reads_back_non_nil", func(t *testing.T) {
		c := fresh(t)
		require.NoError(t, c.Set(ctx, "empty", []byte{}))
		v, err := c.Get(ctx, "empty")
		require.NoError(t, err)
		require.NotNil(t, v)
		require.Empty(t, v)
	})
	t.Run("batch_runs_in_order", func(t *testing.T) {
		c := fresh(t)
		require.NoError(t, c.Set(ctx, "a", []byte("before")))
		ops := []*storage.Operation{
			storage.GetOperation("a"),
			storage.SetOperation("a", []byte("1")),
			storage.GetOperation("a"),
			storage.SetOperation("a", []byte("2")),
			storage.GetOperation("a"),
			storage.DeleteOperation("a"),
			storage.GetOperation("a"),
			storage.SetOperation("b", []byte("b")),
			storage.GetOperation("b"),
			storage.GetOperation("missing"),
		}
		require.NoError(t, c.Batch(ctx, ops...))
		assert.Equal(t, []byte("before"), ops[0].Value)
		assert.Equal(t, []byte("1"), ops[2].Value)
		assert.Equal(t, []byte("2"), ops[4].Value)
		assert.Nil(t, ops[6].Value)
		assert.Equal(t, []byte("b"), ops[8].Value)
		assert.Nil(t, ops[9].Value)
		requireValue(t, c, "a", nil)
		requireValue(t, c, "b", []byte("b"))
	})
	t.Run("batch_with_invalid_operation_writes_nothing", func(t *testing.T) {
		c := fresh(t)
		require.NoError(t, c.Set(ctx, "kept", []byte("old")))
		err := c.Batch(ctx,
			storage.SetOperation("new", []byte("x")),
			storage.SetOperation("kept", []byte("new")),
			&storage.Operation{Key: "k", Type: storage.OpType(99)})
		require.Error(t, err)
		requireValue(t, c, "new", nil)
		requireValue(t, c, "kept", []byte("old"))
	})
	t.Run("queue_pattern", func(t *testing.T) {
		c := fresh(t)
		for i := range 100 {
			key := fmt.Sprint(i)
			require.NoError(t, c.Batch(ctx, storage.SetOperation("qmv0", []byte{byte(i)}), storage.SetOperation(key, []byte("item "+key))))
		}
		for i := range 100 {
			key := fmt.Sprint(i)
			get := storage.GetOperation(key)
			require.NoError(t, c.Batch(ctx, storage.SetOperation("qmv0", []byte{byte(i), 1}), get))
			require.Equal(t, []byte("item "+key), get.Value)
			require.NoError(t, c.Batch(ctx, storage.SetOperation("qmv0", []byte{byte(i), 2}), storage.DeleteOperation(key)))
			requireValue(t, c, key, nil)
		}
		requireValue(t, c, "qmv0", []byte{99, 2})
	})
	t.Run("arbitrary_keys", func(t *testing.T) {
		c := fresh(t)
		keys := []string{"\x00", "a\x00b", "../../etc/passwd", "/", `C:\x`, "ключ", "\xff\xfe", "qmv0", "0", "00",
			strings.Repeat("k", 32<<10)}
		for i, k := range keys {
			require.NoError(t, c.Set(ctx, k, []byte{byte(i)}), "key %q", k)
		}
		for i, k := range keys {
			requireValue(t, c, k, []byte{byte(i)})
		}
	})
	t.Run("large_values", func(t *testing.T) {
		c := fresh(t)
		for _, size := range []int{64 << 10, 1 << 20, 3 << 20} {
			v := bytes.Repeat([]byte{byte(size)}, size)
			require.NoError(t, c.Set(ctx, fmt.Sprint(size), v))
			requireValue(t, c, fmt.Sprint(size), v)
		}
	})
	t.Run("concurrent_clients_of_one_store", func(t *testing.T) {
		c := fresh(t)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 200 {
					key := fmt.Sprintf("g%d-%d", g, i)
					assert.NoError(t, c.Set(ctx, key, []byte(key)))
					v, err := c.Get(ctx, key)
					assert.NoError(t, err)
					assert.Equal(t, []byte(key), v)
					if i%2 == 0 {
						assert.NoError(t, c.Delete(ctx, key))
					}
				}
			})
		}
		wg.Wait()
		for g := range 4 {
			for i := range 200 {
				key := fmt.Sprintf("g%d-%d", g, i)
				if i%2 == 0 {
					requireValue(t, c, key, nil)
				} else {
					requireValue(t, c, key, []byte(key))
				}
			}
		}
	})
	t.Run("closed_client_fails", func(t *testing.T) {
		c := target.open(t, t.TempDir())
		require.NoError(t, c.Set(ctx, "k", []byte("v")))
		require.NoError(t, c.Close(ctx))
		_, err := c.Get(ctx, "k")
		require.Error(t, err)
		require.Error(t, c.Set(ctx, "k", []byte("v")))
		require.Error(t, c.Batch(ctx, storage.GetOperation("k")))
	})
	if _, ok := fresh(t).(storage.Walker); ok {
		t.Run("walk", func(t *testing.T) { runWalkConformance(t, fresh) })
	}
	if target.persistent {
		t.Run("reopen_sees_writes", func(t *testing.T) {
			dir := t.TempDir()
			c := target.open(t, dir)
			require.NoError(t, c.Set(ctx, "kept", []byte("v")))
			require.NoError(t, c.Set(ctx, "gone", []byte("v")))
			require.NoError(t, c.Set(ctx, "empty", []byte{}))
			require.NoError(t, c.Batch(ctx, storage.DeleteOperation("gone"), storage.SetOperation("kept", []byte("v2")), storage.SetOperation("b", []byte("b"))))
			require.NoError(t, c.Close(ctx))
			c = open(t, dir)
			requireValue(t, c, "kept", []byte("v2"))
			requireValue(t, c, "gone", nil)
			requireValue(t, c, "b", []byte("b"))
			v, err := c.Get(ctx, "empty")
			require.NoError(t, err)
			require.NotNil(t, v)
		})
	}
	if target.fileStorageEdges {
		t.Run("file_storage_edges", func(t *testing.T) {
			c := fresh(t)
			require.Error(t, c.Set(ctx, "", []byte("v")), "an empty key is refused")
			require.Error(t, c.Batch(ctx, storage.SetOperation("x", []byte("v")), storage.SetOperation("", nil)))
			requireValue(t, c, "x", nil)
			v, err := c.Get(ctx, "")
			require.NoError(t, err)
			require.Nil(t, v)
			require.NoError(t, c.Delete(ctx, ""))

			require.NoError(t, c.Set(ctx, "nil", nil))
			v, err = c.Get(ctx, "nil")
			require.NoError(t, err)
			require.NotNil(t, v)
			require.Empty(t, v)

			value := []byte("original")
			require.NoError(t, c.Set(ctx, "copied", value))
			copy(value, "mutated!")
			got, err := c.Get(ctx, "copied")
			require.NoError(t, err)
			require.Equal(t, []byte("original"), got)
			copy(got, "mutated!")
			requireValue(t, c, "copied", []byte("original"))
		})
	}
}

func runWalkConformance(t *testing.T, fresh func(t *testing.T) storage.Client) {
	ctx := context.Background()
	fill := func(t *testing.T) storage.Client {
		c := fresh(t)
		for i := range 20 {
			require.NoError(t, c.Set(ctx, fmt.Sprintf("k%02d", i), []byte(fmt.Sprint(i))))
		}
		return c
	}
	t.Run("visits_every_key_and_applies_ops", func(t *testing.T) {
		c := fill(t)
		seen := map[string]string{}
		err := c.(storage.Walker).Walk(ctx, func(key string, value []byte) ([]*storage.Operation, error) {
			seen[key] = string(value)
			if key == "k03" {
				return []*storage.Operation{storage.DeleteOperation(key), storage.SetOperation("new", []byte("n"))}, nil
			}
			return nil, nil
		})
		require.NoError(t, err)
		require.Len(t, seen, 20)
		require.Equal(t, "7", seen["k07"])
		requireValue(t, c, "k03", nil)
		requireValue(t, c, "new", []byte("n"))
	})
	t.Run("skip_all_stops_and_applies", func(t *testing.T) {
		c := fill(t)
		visited := 0
		err := c.(storage.Walker).Walk(ctx, func(key string, _ []byte) ([]*storage.Operation, error) {
			visited++
			return []*storage.Operation{storage.DeleteOperation(key)}, storage.SkipAll
		})
		require.NoError(t, err)
		require.Equal(t, 1, visited)
		left := 0
		require.NoError(t, c.(storage.Walker).Walk(ctx, func(string, []byte) ([]*storage.Operation, error) {
			left++
			return nil, nil
		}))
		require.Equal(t, 19, left)
	})
	t.Run("error_discards_ops", func(t *testing.T) {
		c := fill(t)
		boom := errors.New("boom")
		err := c.(storage.Walker).Walk(ctx, func(key string, _ []byte) ([]*storage.Operation, error) {
			if key == "k05" {
				return nil, boom
			}
			return []*storage.Operation{storage.DeleteOperation(key)}, nil
		})
		require.ErrorIs(t, err, boom)
		requireValue(t, c, "k00", []byte("0"))
	})
}

func requireValue(t *testing.T, c storage.Client, key string, want []byte) {
	t.Helper()
	got, err := c.Get(context.Background(), key)
	require.NoError(t, err)
	if want == nil {
		require.Nil(t, got, "key %q", key)
		return
	}
	require.Equal(t, want, got, "key %q", key)
}

func TestConformance_CometStorage(t *testing.T) {
	for _, mode := range []SyncMode{SyncNone, SyncInterval, SyncAlways} {
		t.Run(string(mode), func(t *testing.T) {
			runConformance(t, conformanceTarget{
				open: func(t *testing.T, dir string) storage.Client {
					cfg := testConfig(dir)
					cfg.Sync.Mode = mode
					return openTestClient(t, cfg)
				},
				persistent:       true,
				fileStorageEdges: true,
			})
		})
	}
}

// TestConformance_StorageTestInMemory proves the suite on contrib's
// reference in-memory client.
func TestConformance_StorageTestInMemory(t *testing.T) {
	runConformance(t, conformanceTarget{
		open: func(*testing.T, string) storage.Client {
			return storagetest.NewInMemoryClient(component.KindExporter, testOwner, testStorageName)
		},
	})
}

// TestConformance_StorageTestFileBacked proves the restart checks on
// contrib's file-backed test client.
func TestConformance_StorageTestFileBacked(t *testing.T) {
	runConformance(t, conformanceTarget{
		open: func(_ *testing.T, dir string) storage.Client {
			return storagetest.NewFileBackedClient(component.KindExporter, testOwner, testStorageName, dir)
		},
		persistent: true,
	})
}

// TestConformance_FileStorage runs the suite on contrib's file_storage,
// whose behaviour defines the edges the contract leaves open.
func TestConformance_FileStorage(t *testing.T) {
	runConformance(t, conformanceTarget{
		open: func(t *testing.T, dir string) storage.Client {
			return openFileStorageClient(t, dir, false)
		},
		persistent:       true,
		fileStorageEdges: true,
	})
}

// openFileStorageClient opens the test owner's client of a file_storage
// extension on dir.
func openFileStorageClient(t testing.TB, dir string, fsync bool) storage.Client {
	t.Helper()
	c, err := startFileStorage(t, dir, fsync).GetClient(context.Background(), component.KindExporter, testOwner, testStorageName)
	require.NoError(t, err)
	return c
}

// startFileStorage starts a file_storage extension on dir, shut down when
// the test ends.
func startFileStorage(t testing.TB, dir string, fsync bool) storage.Extension {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory, cfg.Compaction.Directory, cfg.FSync = dir, dir, fsync
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return ext.(storage.Extension)
}
