// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"

	"github.com/comet-otel/comet/internal/health/healthtest"
)

// TestExporter_Status_FullBudgetIsRecoverableUntilSpaceIsFreed: the health
// check sees a buffer whose budget is full, once, however many requests
// are refused, and sees it recover with the first append that fits.
func TestExporter_Status_FullBudgetIsRecoverableUntilSpaceIsFreed(t *testing.T) {
	cfg := fullConfig(t, WhenFullReject)
	exp, err := NewFactory().CreateTraces(context.Background(), nopSettings(), cfg)
	require.NoError(t, err)
	host := healthtest.NewHost()
	require.NoError(t, exp.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })

	refused := 0
	for i := 0; i < 1000 && refused < 20; i++ {
		if exp.ConsumeTraces(context.Background(), request(i)) != nil {
			refused++
		}
	}
	require.Equal(t, 20, refused, "a 512 KiB budget cannot hold 8 MB")
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusOK, componentstatus.StatusRecoverableError}, host.Statuses(),
		"one recoverable error for twenty refusals")

	readBack(t, cfg.Directory, "traces") // a consumer acknowledges everything
	require.NoError(t, exp.ConsumeTraces(context.Background(), request(-1)))
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusOK, componentstatus.StatusRecoverableError, componentstatus.StatusOK},
		host.Statuses())
}
