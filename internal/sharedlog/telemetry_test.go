// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package sharedlog

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// diskUsagePoints returns the data points of the engine's disk usage gauge
// reported through tt.
func diskUsagePoints(t *testing.T, tt *componenttest.Telemetry) []metricdata.DataPoint[int64] {
	t.Helper()
	m, err := tt.GetMetric("otelcol_comet_log_disk_usage")
	if err != nil {
		return nil
	}
	gauge, ok := m.Data.(metricdata.Gauge[int64])
	require.True(t, ok)
	return gauge.DataPoints
}

func TestHandle_ReportTelemetry_OncePerDirectoryUntilTheReporterLeaves(t *testing.T) {
	reg := NewRegistry()
	dir := t.TempDir()
	first, second := componenttest.NewTelemetry(), componenttest.NewTelemetry()
	defer func() {
		require.NoError(t, first.Shutdown(context.Background()))
		require.NoError(t, second.Shutdown(context.Background()))
	}()

	a, err := reg.OpenWriter(dir, testConfig(), "comet/a")
	require.NoError(t, err)
	b, err := reg.OpenWriter(dir, testConfig(), "comet/b")
	require.NoError(t, err)
	require.NoError(t, appendOne(a.Client()))
	require.NoError(t, a.ReportTelemetry(first.NewTelemetrySettings()))
	require.NoError(t, b.ReportTelemetry(second.NewTelemetrySettings()))

	points := diskUsagePoints(t, first)
	require.Len(t, points, 1)
	assert.Positive(t, points[0].Value)
	attr, ok := points[0].Attributes.Value("directory")
	require.True(t, ok)
	assert.Equal(t, a.Directory(), attr.AsString())
	assert.Empty(t, diskUsagePoints(t, second), "the directory is reported once")

	require.NoError(t, a.Release())
	assert.Empty(t, diskUsagePoints(t, first), "the reporter's release stops its series")
	require.NoError(t, b.ReportTelemetry(second.NewTelemetrySettings()))
	assert.Len(t, diskUsagePoints(t, second), 1, "another component may take over")
	require.NoError(t, b.Release())
}
