// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/comet-otel/comet/cometexporter"

	"github.com/comet-otel/comet/internal/testexec"
)

// The test binary re-executes itself as a writer collector: these
// variables select the role and its parameters.
const (
	childRoleEnv  = "COMET_RECEIVER_TEST_CHILD"
	childDirEnv   = "COMET_RECEIVER_TEST_DIR"
	childCountEnv = "COMET_RECEIVER_TEST_COUNT"
)

// runChildIfRequested turns the process into the requested child and
// exits; it returns at once in a normal test run.
func runChildIfRequested() {
	role := os.Getenv(childRoleEnv)
	if role == "" {
		return
	}
	err := fmt.Errorf("unknown child role %q", role)
	if role == "writer" {
		err = runWriterChild(os.Getenv(childDirEnv), os.Getenv(childCountEnv))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runWriterChild is a collector with only the comet exporter: it appends
// count log requests (seq 0..count-1), a few at a time, and shuts down.
func runWriterChild(dir, count string) error {
	n, err := strconv.Atoi(count)
	if err != nil {
		return err
	}
	cfg := exporterConfig(dir)
	cfg.Sync.Mode = cometexporter.SyncInterval
	cfg.Sync.Interval = 50 * time.Millisecond
	exp, err := cometexporter.NewFactory().CreateLogs(context.Background(), exporterSettings(), cfg)
	if err != nil {
		return err
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		return err
	}
	for seq := range n {
		if err := exp.ConsumeLogs(context.Background(), genLogs(seq, 3)); err != nil {
			return err
		}
		if seq%100 == 99 {
			time.Sleep(5 * time.Millisecond) // let the reader catch up mid-stream
		}
	}
	return exp.Shutdown(context.Background())
}

func TestCrossProcess_WriterInChildProcess(t *testing.T) {
	const n = 2000
	dir := t.TempDir()
	sink := newSeqSink()
	r := startLogsReceiver(t, receiverSettings(), receiverConfig(dir), sink)
	assert.False(t, r.Component.(*cometReceiver).handle.Writable(), "no writer in this process: the receiver opens the directory read-only")

	cmd := testexec.Command("-test.run=^$")
	cmd.Env = append(os.Environ(), childRoleEnv+"=writer", childDirEnv+"="+dir, childCountEnv+"="+strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "writer child: %s", out)

	eventually(t, 30*time.Second, func() bool { return sink.distinct() == n }, "all %d requests of the other process delivered (got %d)", n, sink.distinct())
	time.Sleep(50 * time.Millisecond)
	_, total := sink.snapshot()
	assert.Equal(t, n, total)
	require.NoError(t, r.stop())

	// The offsets the reader process stored are what a new writer sees: a
	// writer in this process now finds the group caught up.
	exp, _ := startLogsExporter(t, exporterConfig(dir))
	require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(n, 1)))
	next := newSeqSink()
	startLogsReceiver(t, receiverSettings(), receiverConfig(dir), next)
	eventually(t, 10*time.Second, func() bool { return next.distinct() == 1 }, "the new record delivered")
	counts, _ := next.snapshot()
	assert.Equal(t, map[int]int{n: 1}, counts)
}
