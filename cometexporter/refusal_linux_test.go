// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build linux

package cometexporter

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/comet-otel/comet/internal/log"
	"github.com/comet-otel/comet/internal/testfs"
)

// A disk that fills (a 1 MiB tmpfs, half of it taken by another file) refuses requests with a
// retryable error, says so once, and accepts requests again by itself once space is freed.
func TestExporter_DiskFull_RetryableSaidOnceAndRecovers(t *testing.T) {
	settleAt(t, time.Hour)
	mnt := testfs.Tmpfs(t, "1m", "the testbed's TestFullDisk covers this end to end")
	filler := filepath.Join(mnt, "filler")
	require.NoError(t, os.WriteFile(filler, make([]byte, 512<<10), 0o600))

	core, logs := observer.New(zapcore.InfoLevel)
	set := nopSettings()
	set.Logger = zap.New(core)
	cfg := testConfig(t)
	cfg.Directory = filepath.Join(mnt, "buffer")
	cfg.Compression.Type = CompressionNone
	exp := startExporter(t, set, cfg, NewFactory().CreateTraces)

	var err error
	accepted := 0
	for i := 0; i < 1000 && err == nil; i++ {
		if err = exp.ConsumeTraces(context.Background(), request(i)); err == nil {
			accepted++
		}
	}
	require.Error(t, err, "half a MiB cannot hold 8 MB")
	require.ErrorIs(t, err, log.ErrNoSpace)
	require.False(t, consumererror.IsPermanent(err), "upstream must see a retryable error (Unavailable)")
	// At the edge of a full disk a request may still fit here and there; every refusal is
	// back-pressure, and the whole stretch is one episode.
	refusals := 0
	for i := range 100 {
		if err := exp.ConsumeTraces(context.Background(), request(i)); err != nil {
			require.ErrorIs(t, err, log.ErrNoSpace)
			require.False(t, consumererror.IsPermanent(err))
			refusals++
		} else {
			accepted++
		}
	}
	require.Greater(t, refusals, 50, "the disk is full")
	full := logs.FilterMessageSnippet("Disk full")
	require.Equal(t, 1, full.Len(), "%v", logs.All())
	assert.Equal(t, zapcore.ErrorLevel, full.All()[0].Level)
	assert.Zero(t, logs.FilterMessageSnippet("Exporting failed").Len(), "no line per refused request")
	assert.Zero(t, logs.FilterMessageSnippet("Append failed").Len(), "no line per refused request")

	require.NoError(t, os.Remove(filler))
	require.NoError(t, exp.ConsumeTraces(context.Background(), request(-1)), "space freed: accepted again")
	refusalSettle = 0
	require.NoError(t, exp.ConsumeTraces(context.Background(), request(-2)))
	require.Equal(t, 1, logs.FilterMessageSnippet("Disk space available again").Len())
	read := readBack(t, cfg.Directory, "traces")
	stored := 0
	for _, recs := range read {
		stored += len(recs)
	}
	assert.Equal(t, accepted+2, stored, "everything accepted is stored, nothing refused is")
}
