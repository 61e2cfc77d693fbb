// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/comet-otel/comet/internal/log"
)

// settleAt sets refusalSettle for one test.
func settleAt(t *testing.T, d time.Duration) {
	old := refusalSettle
	refusalSettle = d
	t.Cleanup(func() { refusalSettle = old })
}

func TestQuietRefusals_DropsOnlyRefusalLines(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	logger := quietRefusals(zap.New(core)).With(zap.String("component", "comet"))
	logger.Error("Exporting failed. Rejecting data.", zap.Error(refused(errors.New("disk full"))))
	logger.Error("Exporting failed. Rejecting data.", zap.Error(fmt.Errorf("wrapped: %w", refused(errors.New("log full")))))
	logger.Error("Exporting failed. Rejecting data.", zap.Error(errors.New("backend said no")))
	logger.Info("Started")
	require.Equal(t, 2, logs.Len(), "%v", logs.All())
	assert.Equal(t, "backend said no", logs.All()[0].ContextMap()["error"])
	assert.Equal(t, "comet", logs.All()[0].ContextMap()["component"], "fields bound with With are kept")
	assert.Equal(t, "Started", logs.All()[1].Message)
}

// Thousands of refused requests, one line: the log full is said once when it starts and once
// when it ends, and exporterhelper's per-request error line is gone.
func TestExporter_WhenFullReject_SaysOnceNotPerRequest(t *testing.T) {
	settleAt(t, 0)
	core, logs := observer.New(zapcore.InfoLevel)
	set := nopSettings()
	set.Logger = zap.New(core)
	cfg := fullConfig(t, WhenFullReject)
	exp := startExporter(t, set, cfg, NewFactory().CreateTraces)

	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = exp.ConsumeTraces(context.Background(), request(i))
	}
	require.ErrorIs(t, err, log.ErrFull)
	for i := range 200 {
		err = exp.ConsumeTraces(context.Background(), request(i))
		require.ErrorIs(t, err, log.ErrFull)
		require.False(t, consumererror.IsPermanent(err))
	}
	require.Equal(t, 1, logs.FilterMessageSnippet("Log full").Len(), "%v", logs.All())
	require.Zero(t, logs.FilterMessageSnippet("Exporting failed").Len(), "no line per refused request")

	readBack(t, cfg.Directory, "traces") // acknowledges everything: retention frees segments
	require.NoError(t, exp.ConsumeTraces(context.Background(), request(-1)))
	require.NoError(t, exp.ConsumeTraces(context.Background(), request(-2)))
	ended := logs.FilterMessageSnippet("Log below its size budget again")
	require.Equal(t, 1, ended.Len())
	assert.EqualValues(t, 201, ended.All()[0].ContextMap()["refused_requests"])
}
