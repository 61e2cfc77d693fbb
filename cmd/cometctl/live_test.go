// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/comet-otel/comet/internal/log"
)

// readOnlyCommands are the commands that must never change a byte; OUT is
// replaced by a file outside the directory.
var readOnlyCommands = [][]string{
	{"inspect", "DIR"},
	{"inspect", "DIR", "--json", "--budget", "1GiB"},
	{"verify", "DIR"},
	{"export", "DIR", "--stream", "logs"},
	{"export", "DIR", "--stream", "logs", "--group", "g", "--format", "proto", "-o", "OUT"},
	{"export", "DIR", "--stream", "logs:v1:shard:0001", "--from", "-1h", "--limit", "3"},
	{"groups", "DIR"},
	{"groups", "list", "DIR", "--json"},
}

// requireReadOnly runs every read-only command on dir and checks that no
// file or directory under it changed: content, size and mtime.
func requireReadOnly(t *testing.T, dir string) {
	before := snapshot(t, dir)
	out := filepath.Join(t.TempDir(), "out.pb")
	for _, cmd := range readOnlyCommands {
		args := strings.Fields(strings.NewReplacer("DIR", dir, "OUT", out).Replace(strings.Join(cmd, " ")))
		r := ctl(t, args...)
		require.Contains(t, []int{exitOK, exitDamage}, r.code, "%v: %s", args, r.stderr)
		require.Equal(t, before, snapshot(t, dir), "%v changed the directory", args)
	}
}

func TestReadOnlyCommands_ChangeNoByte(t *testing.T) {
	t.Run("damaged directory, no writer", func(t *testing.T) {
		dir, _ := damagedDir(t)
		requireReadOnly(t, dir)
	})
	t.Run("directory a writer holds", func(t *testing.T) {
		dir, _ := damagedDir(t)
		w, err := log.NewClient(dir) // recovers the damage it can, then idles holding the lock
		require.NoError(t, err)
		defer w.Close()
		require.Equal(t, "held", inspectJSON(t, dir).Writer.Held)
		requireReadOnly(t, dir)
	})
}

// appendLogs appends log requests as the exporter does, one record each,
// round robin over 4 shards, until stop is closed or an append fails; it
// returns how many it appended.
func appendLogs(w *log.Client, first int, stop <-chan struct{}) (int, error) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return n, nil
		default:
		}
		b, err := (&plog.ProtoMarshaler{}).MarshalLogs(makeLogs(first+n, 1, 500))
		if err == nil {
			_, err = w.Append(context.Background(), log.ShardStreamName("logs", "v1", uint32(n%4)), [][]byte{b})
		}
		if err != nil {
			return n, err
		}
	}
}

func TestLiveWriter_ReadOnlyCommandsWorkWhileItAppends(t *testing.T) {
	dir, _ := logsDir(t, 40, 1, 500)
	cfg := log.DefaultCometConfig()
	cfg.Storage.MaxFileSize = 64 << 10 // rotates while the commands read
	w, err := log.NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var appended atomic.Int64
	var appendErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		n, err := appendLogs(w, 40, stop)
		appended.Store(int64(n))
		appendErr = err
	}()

	last := 40
	for range 5 {
		got := readJSONLogs(t, ctlOK(t, "export", dir, "--stream", "logs").stdout)
		require.GreaterOrEqual(t, len(got), last, "an export sees at least what the previous one saw")
		ids := requestIDs(got)
		seen := map[int64]bool{}
		for _, id := range ids {
			require.False(t, seen[id], "request %d exported twice", id)
			seen[id] = true
		}
		last = len(got)
		r := ctlOK(t, "verify", dir, "--quiet")
		require.Contains(t, r.stdout, "verify: OK")
		require.Contains(t, ctlOK(t, "inspect", dir).stdout, "Writer:     running: process")
	}
	close(stop)
	wg.Wait()
	require.NoError(t, appendErr)
	require.NoError(t, w.Close())
	total := 40 + int(appended.Load())
	t.Logf("the writer appended %d requests while the commands ran", appended.Load())
	require.Greater(t, appended.Load(), int64(0))
	got := readJSONLogs(t, ctlOK(t, "export", dir, "--stream", "logs").stdout)
	require.Len(t, got, total, "once the writer stops, the export has everything")
	require.Equal(t, seq(0, total), requestIDs(got))
}

func TestChildCollectorHoldingTheLock_RefusesChanges(t *testing.T) {
	dir, _ := logsDir(t, 12, 1, 100)
	addGroup(t, dir, "logs", "g", 1)
	child := startChild(t, "hold-lock", "COMET_DIR="+dir)
	pid := child.Process.Pid
	lock := filepath.Join(dir, "comet.lock")
	file := filepath.Join(t.TempDir(), "logs.pb")
	ctlOK(t, "export", dir, "--stream", "logs", "--format", "proto", "-o", file)

	for _, args := range [][]string{
		{"groups", "reset", dir, "--group", "g", "--to", "earliest"},
		{"groups", "delete", dir, "--group", "g"},
		{"import", dir, file, "--stream", "logs"},
	} {
		r := ctl(t, args...)
		require.Equal(t, exitError, r.code, "%v", args)
		require.Contains(t, r.stderr, fmt.Sprintf("refused: process %d holds the writer lock %s", pid, lock), "%v", args)
	}
	require.Contains(t, ctlOK(t, "inspect", dir).stdout, fmt.Sprintf("Writer:     running: process %d holds %s", pid, lock))
	require.Contains(t, ctlOK(t, "verify", dir).stdout, "verify: OK")
	groups := ctlOK(t, "groups", dir, "--json").stdout
	require.Contains(t, groups, `"offset": 1`, "the group was not reset")
}

// TestChildDrainReadingTheGroup_RefusesGroupChanges: a collector that only
// drains the directory holds no writer lock, but its receiver announces
// the group; resetting or deleting the group under it would be undone by
// its next acknowledgement, so cometctl refuses.
func TestChildDrainReadingTheGroup_RefusesGroupChanges(t *testing.T) {
	dir, _ := logsDir(t, 12, 1, 100)
	addGroup(t, dir, "logs", "g", 1)
	addGroup(t, dir, "logs", "other", 1)
	startChild(t, "drain", "COMET_DIR="+dir)
	for _, args := range [][]string{
		{"groups", "reset", dir, "--group", "g", "--to", "earliest"},
		{"groups", "delete", dir, "--group", "g"},
	} {
		r := ctl(t, args...)
		require.Equal(t, exitError, r.code, "%v", args)
		require.Contains(t, r.stderr, `consumer group is in use: "g" on logs:v1 is read by a running process`, "%v", args)
		require.Contains(t, r.stderr, "stop the comet receivers of the group first", "%v", args)
	}
	require.Contains(t, ctlOK(t, "groups", dir, "--json").stdout, `"offset": 1`, "the group was not changed")
	ctlOK(t, "groups", "reset", dir, "--group", "other", "--to", "earliest") // another group is free
}
