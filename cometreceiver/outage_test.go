// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/comet-otel/comet/cometexporter"
	"github.com/comet-otel/comet/internal/health/healthtest"
)

// deletedFilesHeldOpen lists files under dir that this process still has
// open although they were deleted: their disk space is not freed.
func deletedFilesHeldOpen(t *testing.T, dir string) []string {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("needs /proc/self/fd")
	}
	var held []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir) && strings.HasSuffix(target, " (deleted)") {
			held = append(held, target)
		}
	}
	return held
}

// TestOutage_DropOldestFreesDiskWhileTheReceiverWaits: while the backend
// is down the receiver holds no segment open, so segments drop_oldest
// deletes give their space back and the disk stays within the budget.
func TestOutage_DropOldestFreesDiskWhileTheReceiverWaits(t *testing.T) {
	dir := t.TempDir()
	ecfg := exporterConfig(dir)
	ecfg.Shards = 4
	ecfg.WhenFull = cometexporter.WhenFullDropOldest
	ecfg.MaxRecordSize = 16 << 10
	ecfg.SegmentSize = 64 << 10
	ecfg.Retention.MaxSize = 512 << 10
	ecfg.Compression.Type = cometexporter.CompressionNone
	exp, _ := startLogsExporter(t, ecfg)

	var up atomic.Bool
	sink := newSeqSink()
	sink.consume = func(context.Context, plog.Logs) error {
		if !up.Load() {
			return errors.New("backend down")
		}
		return nil
	}
	rcfg := receiverConfig(dir)
	rcfg.RetryOnFailure.MaxInterval = 20 * time.Millisecond
	startLogsReceiver(t, receiverSettings(), rcfg, sink)

	const n = 3000 // about 4 budgets of 0.7 KiB requests
	for seq := range n {
		require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(seq, 20)))
		if seq%200 == 0 {
			time.Sleep(20 * time.Millisecond) // let the receiver fail and wait
		}
	}
	assert.Empty(t, deletedFilesHeldOpen(t, dir), "segments deleted by drop_oldest must not be held open by the waiting receiver")

	up.Store(true)
	eventually(t, 10*time.Second, func() bool {
		c, _ := sink.snapshot()
		return c[n-1] == 1
	}, "the newest request is delivered after the outage")
}

// TestStatus_ReadFailuresAreReportedUntilReadsWorkAgain: a log that cannot
// be read is a component error (permanent when an operator must act), and
// the status is OK again only once reads have worked for a while and the
// next consumer accepts data.
func TestStatus_ReadFailuresAreReportedUntilReadsWorkAgain(t *testing.T) {
	host := healthtest.NewHost()
	o := &outageReporter{}
	o.health.SetHost(host)
	longAgo := func() { o.lastReadFailure.Store(time.Now().Add(-readRecovered).UnixNano()) }

	o.readFailed(fmt.Errorf("read segment: %w", syscall.EACCES))
	o.readSucceeded() // a healthy shard, right after the failure
	require.Equal(t, []componentstatus.Status{componentstatus.StatusPermanentError}, host.Statuses())
	longAgo()
	o.readSucceeded()
	require.Equal(t, []componentstatus.Status{componentstatus.StatusPermanentError, componentstatus.StatusOK}, host.Statuses())

	o.down.Store(true) // the backend refuses meanwhile
	o.readFailed(errors.New("read segment: input/output hiccup"))
	longAgo()
	o.readSucceeded()
	require.Equal(t, componentstatus.StatusRecoverableError, host.Statuses()[2])
	require.Len(t, host.Statuses(), 3, "no OK while the next consumer refuses")
}
