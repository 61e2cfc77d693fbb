// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/comet-otel/comet/internal/testexec"
)

// The kill -9 test runs the test binary again as a child process: a
// collector-like process whose persistent queue uses comet_storage. It
// prints "accepted <id>" once the exporter accepted a request and appends
// "delivered <id>" to a file for every request its downstream received.
// The parent kills it with SIGKILL mid-stream, restarts the queue on the
// same directory in-process and expects every accepted request to arrive.

const (
	crashChildEnv = "COMET_STORAGE_CRASH_CHILD_DIR"
	crashSyncEnv  = "COMET_STORAGE_CRASH_CHILD_SYNC"
)

// TestCrash_ChildProcess is the child's body; it does nothing unless the
// parent test started it.
func TestCrash_ChildProcess(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		return
	}
	cfg := testConfig(filepath.Join(dir, "storage"))
	cfg.SegmentSize = 1 << 20
	cfg.Compaction.CheckInterval = 50 * time.Millisecond
	cfg.Sync.Mode = SyncMode(os.Getenv(crashSyncEnv))
	ext := newTestExtension(t, cfg)

	delivered, err := os.OpenFile(filepath.Join(dir, "delivered"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	require.NoError(t, err)
	start := time.Now()
	exp := startQueueExporter(t, ext, func(_ context.Context, ld plog.Logs) error {
		// The downstream is down for a while, then slower than the
		// producer, so a backlog is always there to lose.
		if time.Since(start) < 300*time.Millisecond {
			return errors.New("downstream unavailable")
		}
		id, err := requestID(ld)
		if err != nil {
			return err
		}
		time.Sleep(200 * time.Microsecond)
		_, err = fmt.Fprintf(delivered, "delivered %d\n", id)
		return err
	})
	for id := 0; ; id++ {
		if err := exp.ConsumeLogs(context.Background(), makeRequest(id)); err != nil {
			fmt.Fprintf(os.Stdout, "refused %d: %v\n", id, err)
			continue
		}
		fmt.Fprintf(os.Stdout, "accepted %d\n", id)
	}
}

func TestPersistentQueue_SurvivesKill9(t *testing.T) {
	for _, mode := range []SyncMode{SyncNone, SyncAlways} {
		t.Run(string(mode), func(t *testing.T) { testSurvivesKill9(t, mode) })
	}
}

func testSurvivesKill9(t *testing.T, mode SyncMode) {
	dir := t.TempDir()
	cmd := testexec.Command("-test.run=^TestCrash_ChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashSyncEnv+"="+string(mode))
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())

	// Read what the child accepted until enough is in flight, then kill.
	accepted := map[int]bool{}
	var mu sync.Mutex
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "accepted "); ok {
				n, err := strconv.Atoi(id)
				if err == nil {
					mu.Lock()
					accepted[n] = true
					mu.Unlock()
				}
			}
		}
	}()
	want := 20_000
	if mode == SyncAlways {
		want = 3_000
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(accepted)
		mu.Unlock()
		if n >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL
	_ = cmd.Wait()
	<-readDone

	seenBefore := readDelivered(t, filepath.Join(dir, "delivered"))
	mu.Lock()
	t.Logf("child killed with %d requests accepted, %d delivered before the kill", len(accepted), len(seenBefore))
	require.NotEmpty(t, accepted)
	mu.Unlock()

	// Restart the queue on the same storage and wait for the rest.
	cfg := testConfig(filepath.Join(dir, "storage"))
	cfg.SegmentSize = 1 << 20
	cfg.Sync.Mode = mode
	ext := newTestExtension(t, cfg)
	rec := newRecorder()
	exp := startQueueExporter(t, ext, rec.push)
	rec.waitFor(t, time.Minute, "every accepted request", func(seen map[int]int) bool {
		for id := range accepted {
			if seen[id] == 0 && seenBefore[id] == 0 {
				return false
			}
		}
		return true
	})
	require.NoError(t, exp.Shutdown(context.Background()))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	total := map[int]int{}
	for id, n := range rec.seen {
		total[id] += n
	}
	for id, n := range seenBefore {
		total[id] += n
	}
	dups := duplicates(total)
	t.Logf("after the restart: %d requests delivered; every accepted one arrived; %d duplicates overall", len(rec.seen), dups)
}

// readDelivered parses the child's delivery file. A line cut by the kill
// is ignored.
func readDelivered(t *testing.T, path string) map[int]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[int]int{}
	}
	require.NoError(t, err)
	seen := map[int]int{}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if id, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "delivered "); ok && strings.HasSuffix(line, "\n") {
			if n, err := strconv.Atoi(id); err == nil {
				seen[n]++
			}
		}
	}
	return seen
}
