// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/comet-otel/comet/cometstorage/internal/metadatatest"
)

func TestTelemetry_KeysDiskAndCompactions(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(ctx)) })
	ext, err := NewFactory().Create(ctx, metadatatest.NewSettings(tt), testConfig(t.TempDir()))
	require.NoError(t, err)
	require.NoError(t, ext.Start(ctx, componenttest.NewNopHost()))
	sc, err := ext.(storage.Extension).GetClient(ctx, component.KindExporter, testOwner, testStorageName)
	require.NoError(t, err)
	c := sc.(*client)

	value := bytes.Repeat([]byte("v"), 1000)
	for i := range 5 { // cold keys: they keep the first segment for compaction
		require.NoError(t, c.Set(ctx, fmt.Sprint("cold", i), value))
	}
	for i := range 200 {
		require.NoError(t, c.Set(ctx, fmt.Sprint("k", i%20), value)) // 20 keys, mostly overwritten
	}
	require.NoError(t, c.Set(ctx, "gone", value))
	require.NoError(t, c.Delete(ctx, "gone"))
	_, disk := c.usage()
	metadatatest.AssertEqualCometStorageKeys(t, tt, []metricdata.DataPoint[int64]{{Value: 25}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualCometStorageDiskUsage(t, tt, []metricdata.DataPoint[int64]{{Value: disk}}, metricdatatest.IgnoreTimestamp())

	c.maintain()
	_, after := c.usage()
	require.Less(t, after, disk)
	got, err := tt.GetMetric("otelcol_comet_storage_segments_deleted")
	require.NoError(t, err)
	deleted := got.Data.(metricdata.Sum[int64]).DataPoints[0].Value
	require.Positive(t, deleted)
	got, err = tt.GetMetric("otelcol_comet_storage_compactions")
	require.NoError(t, err)
	require.Positive(t, got.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
	requireValue(t, c, "cold3", value)
	metadatatest.AssertEqualCometStorageDiskUsage(t, tt, []metricdata.DataPoint[int64]{{Value: after}}, metricdatatest.IgnoreTimestamp())

	require.NoError(t, ext.Shutdown(ctx))
	_, err = tt.GetMetric("otelcol_comet_storage_keys")
	require.Error(t, err, "gauges are unregistered at shutdown")
}
