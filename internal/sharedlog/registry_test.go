// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package sharedlog

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/log"
)

func testConfig() log.CometConfig {
	cfg := log.DefaultCometConfig()
	cfg.Durability.Mode = log.SyncNone
	return cfg
}

func appendOne(c *log.Client) error {
	_, err := c.Append(context.Background(), log.ShardStreamName("traces", "v1", 0), [][]byte{[]byte("x")})
	return err
}

func TestRegistry_OpenWriter_SharesOneClientUntilLastRelease(t *testing.T) {
	reg := NewRegistry()
	dir := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(dir, link))

	a, err := reg.OpenWriter(dir, testConfig(), "comet/a")
	require.NoError(t, err)
	b, err := reg.OpenWriter(link+"/.", testConfig(), "comet/b")
	require.NoError(t, err, "a second spelling of the directory must share the client, not hit the lock")
	require.Same(t, a.Client(), b.Client())
	assert.True(t, b.Writable())

	require.NoError(t, a.Release())
	require.NoError(t, a.Release(), "a second Release is a no-op")
	require.NoError(t, appendOne(b.Client()), "the client stays open while a handle remains")

	require.NoError(t, b.Release())
	require.ErrorIs(t, appendOne(b.Client()), log.ErrClosed)

	c, err := reg.OpenWriter(dir, testConfig(), "comet/c")
	require.NoError(t, err, "after the last release the directory lock is free again")
	require.NoError(t, c.Release())
}

func TestRegistry_OpenWriter_ConflictNamesDirectoryAndSettings(t *testing.T) {
	reg := NewRegistry()
	dir := t.TempDir()
	a, err := reg.OpenWriter(dir, testConfig(), "comet/a")
	require.NoError(t, err)
	defer a.Release()

	other := testConfig()
	other.Durability.Mode = log.SyncAlways
	other.Storage.MaxFileSize = 1 << 20
	_, err = reg.OpenWriter(dir, other, "comet/b")
	var conflict *ConflictError
	require.ErrorAs(t, err, &conflict)
	assert.Equal(t, dir, conflict.Directory)
	assert.Equal(t, "comet/a", conflict.Owner)
	assert.Equal(t, []SettingDiff{
		{Field: "Storage.MaxFileSize", Open: "67108864", Wanted: "1048576"},
		{Field: "Durability.Mode", Open: "none", Wanted: "always"},
	}, conflict.Settings)
	assert.Contains(t, err.Error(), dir)
	assert.Contains(t, err.Error(), "Durability.Mode is none, not always")

	// The failed open took no reference: one release closes the client.
	require.NoError(t, a.Release())
	require.ErrorIs(t, appendOne(a.Client()), log.ErrClosed)
}

func TestRegistry_OpenWriter_LoggerIsNotASetting(t *testing.T) {
	reg := NewRegistry()
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Logger = zap.NewNop()
	a, err := reg.OpenWriter(dir, cfg, "comet/a")
	require.NoError(t, err)
	defer a.Release()
	b, err := reg.OpenWriter(dir, testConfig(), "comet/b")
	require.NoError(t, err)
	defer b.Release()
}

func TestRegistry_OpenReader_JoinsTheWriterOfItsProcess(t *testing.T) {
	reg := NewRegistry()
	dir := t.TempDir()
	w, err := reg.OpenWriter(dir, testConfig(), "comet/w")
	require.NoError(t, err)
	r, err := reg.OpenReader(dir, zap.NewNop(), "comet/r")
	require.NoError(t, err)
	require.Same(t, w.Client(), r.Client())
	assert.True(t, r.Writable())

	// Shutdown order in a collector is receivers first; either order works.
	require.NoError(t, w.Release())
	require.NoError(t, appendOne(r.Client()))
	require.NoError(t, r.Release())
	require.ErrorIs(t, appendOne(r.Client()), log.ErrClosed)
}

func TestRegistry_OpenReader_AloneOpensReadOnly(t *testing.T) {
	reg := NewRegistry()
	dir := filepath.Join(t.TempDir(), "not", "yet")
	r, err := reg.OpenReader(dir, zap.NewNop(), "comet/r")
	require.NoError(t, err, "a reader may start before its writer process created the directory")
	defer r.Release()
	assert.False(t, r.Writable())
	require.ErrorIs(t, appendOne(r.Client()), log.ErrReadOnly)

	// The writer of the directory lives in another process: a read-only
	// client must not hold the lock it needs.
	otherProcess := NewRegistry()
	w, err := otherProcess.OpenWriter(dir, testConfig(), "comet/w")
	require.NoError(t, err)
	require.NoError(t, w.Release())
}

func TestRegistry_OpenWriter_AfterReadOnlyReaderFails(t *testing.T) {
	reg := NewRegistry()
	dir := t.TempDir()
	r, err := reg.OpenReader(dir, zap.NewNop(), "comet/r")
	require.NoError(t, err)
	defer r.Release()
	_, err = reg.OpenWriter(dir, testConfig(), "comet/w")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read-only by comet/r")
	assert.Contains(t, err.Error(), dir)
}

func TestRegistry_OpenWriter_LockedByAnotherWriterFails(t *testing.T) {
	dir := t.TempDir()
	other, err := log.NewClientWithConfig(dir, testConfig())
	require.NoError(t, err)
	defer other.Close()
	_, err = NewRegistry().OpenWriter(dir, testConfig(), "comet/w")
	require.ErrorIs(t, err, log.ErrLocked)
	assert.Contains(t, err.Error(), dir)
}

func TestRegistry_Open_EmptyDirectoryFails(t *testing.T) {
	_, err := NewRegistry().OpenWriter("", testConfig(), "comet/w")
	require.Error(t, err)
	_, err = NewRegistry().OpenReader("", zap.NewNop(), "comet/r")
	require.Error(t, err)
}

func TestRegistry_ConcurrentOpenRelease(t *testing.T) {
	reg := NewRegistry()
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Go(func() {
			for range 4 {
				var h *Handle
				var err error
				if i%2 == 0 {
					h, err = reg.OpenWriter(dir, testConfig(), "comet/w")
				} else {
					h, err = reg.OpenReader(dir, zap.NewNop(), "comet/r")
				}
				if err != nil {
					// A reader may have opened the directory read-only
					// first; a writer then fails, which is the contract.
					continue
				}
				if h.Writable() {
					if err := appendOne(h.Client()); err != nil {
						errs <- err
					}
				}
				if err := h.Release(); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	assert.Empty(t, reg.entries, "every client is closed after the last release")
}

// TestComparedSettings_CoverEveryEngineSetting fails when the engine grows
// a setting the registry does not compare, so two writers can never
// silently share a client configured differently.
func TestComparedSettings_CoverEveryEngineSetting(t *testing.T) {
	notCompared := map[string]bool{"Logger": true, "Concurrency.ReadOnly": true}
	var fields []string
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, prefix string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := prefix + f.Name
			if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == typ.PkgPath() {
				walk(f.Type, name+".")
				continue
			}
			if !notCompared[name] {
				fields = append(fields, name)
			}
		}
	}
	walk(reflect.TypeOf(log.CometConfig{}), "")
	var compared []string
	for _, s := range comparedSettings {
		compared = append(compared, s.field)
	}
	assert.ElementsMatch(t, fields, compared)
}
