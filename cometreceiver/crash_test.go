// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/comet-otel/comet/internal/testexec"
)

// The test binary re-executes itself as a drain collector that is killed
// mid-delivery: these variables select the role and where it reports.
const (
	readerChildEnv    = "COMET_RECEIVER_TEST_READER"
	readerDeliveryEnv = "COMET_RECEIVER_TEST_DELIVERED"
)

// crashTestConfig keeps merged requests small, so that the bound on what
// a kill can redeliver is tight.
func crashTestConfig(dir string) *Config {
	cfg := receiverConfig(dir)
	cfg.Workers = 4
	cfg.Batch.MaxItems = 50
	return cfg
}

// runReaderChildIfRequested turns the process into a drain collector for
// the directory in readerChildEnv: its next consumer appends the seq of
// every request it accepts to the file in readerDeliveryEnv, before
// accepting it, until the process is killed.
func runReaderChildIfRequested() {
	dir := os.Getenv(readerChildEnv)
	if dir == "" {
		return
	}
	if err := runReaderChild(dir, os.Getenv(readerDeliveryEnv)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runReaderChild(dir, deliveredPath string) error {
	f, err := os.OpenFile(deliveredPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	sink := newSeqSink()
	sink.consume = func(_ context.Context, ld plog.Logs) error {
		mu.Lock()
		defer mu.Unlock()
		var line []byte
		for _, seq := range logSeqs(ld) {
			line = strconv.AppendInt(line, int64(seq), 10)
			line = append(line, '\n')
		}
		time.Sleep(time.Millisecond) // a backend one round trip away
		_, err := f.Write(line)      // in the page cache: it survives kill -9
		return err
	}
	r, err := NewFactory().CreateLogs(context.Background(), receiverSettings(), crashTestConfig(dir), sink)
	if err != nil {
		return err
	}
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		return err
	}
	select {} // until killed
}

// TestCrash_KillMidDeliveryRedeliversAtMostOneRequestPerWorker kills a
// drain collector with SIGKILL while it delivers, restarts the drain, and
// checks at-least-once with merged requests: every record arrives, and
// what arrives twice is at most what the killed workers had in flight,
// one merged request each.
func TestCrash_KillMidDeliveryRedeliversAtMostOneRequestPerWorker(t *testing.T) {
	const n = 5000
	dir := t.TempDir()
	exp, s := startLogsExporter(t, exporterConfig(dir))
	for seq := range n {
		require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(seq, 1)))
	}
	require.NoError(t, s.stop())

	delivered := filepath.Join(t.TempDir(), "delivered")
	cmd := testexec.Command("-test.run=^$")
	cmd.Env = append(os.Environ(), readerChildEnv+"="+dir, readerDeliveryEnv+"="+delivered)
	require.NoError(t, cmd.Start())
	eventually(t, 30*time.Second, func() bool { return len(readSeqs(t, delivered)) >= n/4 }, "the child delivers")
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	before := readSeqs(t, delivered)
	require.Less(t, len(before), n, "the child must be killed before the end for this test")

	after := newSeqSink()
	startLogsReceiver(t, receiverSettings(), crashTestConfig(dir), after)
	seen := map[int]int{}
	for _, seq := range before {
		seen[seq]++
	}
	eventually(t, 30*time.Second, func() bool {
		counts, _ := after.snapshot()
		for seq := range n {
			if seen[seq]+counts[seq] == 0 {
				return false
			}
		}
		return true
	}, "every record delivered after the restart")
	time.Sleep(100 * time.Millisecond) // let anything extra arrive
	counts, total := after.snapshot()
	duplicates := len(before) + total - n
	for seq := range n {
		require.GreaterOrEqual(t, seen[seq]+counts[seq], 1, "record %d lost", seq)
	}
	cfg := crashTestConfig(dir)
	assert.LessOrEqual(t, duplicates, cfg.Workers*cfg.Batch.MaxItems, "at most one merged request per worker is delivered twice")
	t.Logf("killed after %d deliveries; %d after the restart; %d duplicates", len(before), total, duplicates)
}

// readSeqs reads the seqs a reader child reported, ignoring a torn last line.
func readSeqs(t *testing.T, path string) []int {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var seqs []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if seq, err := strconv.Atoi(sc.Text()); err == nil {
			seqs = append(seqs, seq)
		}
	}
	return seqs
}
