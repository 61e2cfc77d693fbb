// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/comet-otel/comet/cometstorage/internal/metadata"

	"github.com/comet-otel/comet/internal/health/healthtest"
)

// TestExtension_Status_FullIsRecoverableUntilSpaceIsFreed: a persistent
// queue whose storage is full shows in the health check once, and
// recovers with the first write that fits.
func TestExtension_Status_FullIsRecoverableUntilSpaceIsFreed(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MaxSize = 2 * cfg.SegmentSize
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	host := healthtest.NewHost()
	require.NoError(t, ext.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	sc, err := ext.(storage.Extension).GetClient(context.Background(), component.KindExporter, testOwner, testStorageName)
	require.NoError(t, err)
	defer func() { require.NoError(t, sc.Close(context.Background())) }()
	c := sc.(*client)

	value := make([]byte, 4<<10)
	var keys []string
	var full error
	for i := 0; full == nil && i < 10000; i++ {
		key := fmt.Sprint(i)
		if full = c.Set(context.Background(), key, value); full == nil {
			keys = append(keys, key)
		}
	}
	require.ErrorIs(t, full, storage.ErrStorageFull)
	for range 10 {
		require.ErrorIs(t, c.Set(context.Background(), "more", value), storage.ErrStorageFull)
	}
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusOK, componentstatus.StatusRecoverableError}, host.Statuses())

	for _, key := range keys {
		require.NoError(t, c.Delete(context.Background(), key))
	}
	c.maintain() // the compaction goroutine is idle: check_interval is an hour
	require.NoError(t, c.Set(context.Background(), "after", value))
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusOK, componentstatus.StatusRecoverableError, componentstatus.StatusOK},
		host.Statuses())
}
