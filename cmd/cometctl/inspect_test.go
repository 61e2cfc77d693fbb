// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/comet-otel/comet/internal/log"
)

// signalsDir writes traces, metrics and logs through the real exporter:
// 30 trace requests, 20 metric requests, 40 log requests.
func signalsDir(t *testing.T) string {
	dir := t.TempDir()
	cfg := exporterConfig(dir)
	var traces []ptrace.Traces
	for i := range 30 {
		traces = append(traces, makeTraces(i, 4, 2000))
	}
	exportTraces(t, cfg, traces...)
	var metrics []pmetric.Metrics
	for i := range 20 {
		metrics = append(metrics, makeMetrics(i, 5))
	}
	exportMetrics(t, cfg, metrics...)
	var logs []plog.Logs
	for i := range 40 {
		logs = append(logs, makeLogs(i, 3, 1500))
	}
	exportLogs(t, cfg, logs...)
	return dir
}

func TestInspect_ExporterDirectory_CountsWhatWasSent(t *testing.T) {
	dir := signalsDir(t)
	addGroup(t, dir, "logs", "comet", 4)

	var rep dirReport
	r := ctlOK(t, "inspect", dir, "--json", "--budget", "1MiB")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	require.Equal(t, dir, rep.Directory)
	require.Equal(t, "free", rep.Writer.Held)
	require.Equal(t, os.Getpid(), rep.Writer.PID, "the exporter of this test process was the last writer")
	require.EqualValues(t, 90, rep.Entries)
	entries := map[string]int64{}
	shards := map[string]int{}
	var segBytes int64
	for _, nr := range rep.Namespaces {
		entries[nr.Namespace] = nr.Entries
		shards[nr.Namespace] = len(nr.Shards)
		segBytes += nr.SegmentBytes
		for _, sr := range nr.Shards {
			require.Equal(t, sr.EndEntry-sr.FirstEntry, sr.Entries)
			require.NotNil(t, sr.OldestRecord)
			require.False(t, sr.NewestRecord.Before(*sr.OldestRecord))
		}
	}
	require.Equal(t, map[string]int64{"traces": 30, "metrics": 20, "logs": 40}, entries, "one record per request sent")
	require.Equal(t, map[string]int{"traces": 4, "metrics": 4, "logs": 4}, shards)
	require.Equal(t, segBytes, rep.SegmentBytes)
	require.Greater(t, rep.DiskBytes, rep.SegmentBytes, "disk bytes include indexes, offsets and the lock")
	require.EqualValues(t, 1<<20, *rep.BudgetBytes)
	require.InDelta(t, float64(rep.SegmentBytes)/(1<<20), *rep.BudgetUsed, 1e-9)
	require.WithinDuration(t, time.Now(), *rep.NewestRecord, time.Minute)

	require.Len(t, rep.Groups, 1)
	g := rep.Groups[0]
	require.Equal(t, "comet", g.Group)
	require.Equal(t, "logs", g.Namespace)
	require.EqualValues(t, 40-4*4, g.Lag, "each shard acknowledged 4 of its 10")
	require.Len(t, g.Shards, 4)
	for _, s := range g.Shards {
		require.EqualValues(t, 4, *s.Offset)
		require.EqualValues(t, 10, s.End)
		require.EqualValues(t, 6, s.Lag)
		require.NotNil(t, s.OldestUnacked)
		require.GreaterOrEqual(t, *s.AgeSeconds, 0.0)
	}
	require.NotNil(t, g.OldestUnacked)
	require.Empty(t, rep.DamagedOffsetFiles)

	human := ctlOK(t, "inspect", dir).stdout
	for _, want := range []string{"Directory:  " + dir, "Writer:     none running", "traces:v1 (4 shards)", "  logs:v1:shard:0003",
		"metrics:v1:shard:0000", "comet  logs:v1 (4 shards)", "OLDEST UNACKNOWLEDGED"} {
		require.Contains(t, human, want)
	}
}

func TestInspect_EmptyDataDirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "comet.lock"), []byte("12\n"), 0o600))
	var rep dirReport
	require.NoError(t, json.Unmarshal([]byte(ctlOK(t, "inspect", "--json", dir).stdout), &rep))
	require.Zero(t, rep.Entries)
	require.Nil(t, rep.OldestRecord)
	require.Equal(t, 12, rep.Writer.PID)
	require.NotNil(t, rep.Namespaces)
	require.NotNil(t, rep.Groups)
	require.Contains(t, ctlOK(t, "inspect", dir).stdout, "No consumer groups.")
}

func TestCommands_RefuseMissingEmptyAndForeignDirectories(t *testing.T) {
	base := t.TempDir()
	missing := filepath.Join(base, "missing")
	empty := filepath.Join(base, "empty")
	require.NoError(t, os.Mkdir(empty, 0o700))
	foreign := filepath.Join(base, "foreign")
	require.NoError(t, os.MkdirAll(filepath.Join(foreign, "data"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "data", "comet.lock"), nil, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("hello"), 0o600))
	file := filepath.Join(base, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))

	commands := [][]string{
		{"inspect"}, {"verify"}, {"export", "--stream", "logs"}, {"groups"},
		{"groups", "reset", "--group", "g", "--to", "latest"}, {"groups", "delete", "--group", "g"},
	}
	cases := map[string]string{
		missing: missing + " does not exist",
		empty:   empty + " is empty: not a comet data directory",
		foreign: foreign + " is not a comet data directory: it has no comet.lock and no <namespace>/<version>/shard-NNNN directories; these subdirectories are: " + filepath.Join(foreign, "data"),
		file:    file + " is not a directory",
	}
	for dir, want := range cases {
		for _, cmd := range commands {
			args := append([]string{cmd[0]}, dir)
			if cmd[0] == "groups" && len(cmd) > 1 {
				args = append([]string{"groups", cmd[1], dir}, cmd[2:]...)
			} else {
				args = append(args, cmd[1:]...)
			}
			r := ctl(t, args...)
			require.Equal(t, exitError, r.code, "%v: %s", args, r.stderr)
			require.Contains(t, r.stderr, want, "%v", args)
			require.NotContains(t, r.stderr, "panic")
		}
	}
	r := ctl(t, "import", foreign, file, "--stream", "logs")
	require.Equal(t, exitError, r.code)
	require.Contains(t, r.stderr, "not a comet data directory")
}

func TestUsage(t *testing.T) {
	r := ctl(t)
	require.Equal(t, exitError, r.code)
	require.Contains(t, r.stderr, "Commands:")
	r = ctlOK(t, "help")
	for _, name := range commandOrder {
		require.Contains(t, r.stdout, "  "+name+" ")
	}
	require.Contains(t, r.stdout, "Exit status: 0 success; 1 damage found")
	r = ctl(t, "frobnicate")
	require.Equal(t, exitError, r.code)
	require.Contains(t, r.stderr, `unknown command "frobnicate"`)

	r = ctlOK(t, "export", "-h")
	require.Contains(t, r.stderr, "Usage: cometctl export DIR --stream S")
	require.Contains(t, r.stderr, "-format string")
	r = ctlOK(t, "help", "verify")
	require.Contains(t, r.stderr, "Usage: cometctl verify DIR")

	dir, _ := logsDir(t, 2, 1, 10)
	for args, want := range map[string]string{
		"export DIR":                                   "--stream is required",
		"export DIR --stream logs --format xml":        `--format "xml": want json or proto`,
		"export DIR --stream nope":                     `namespace "nope" is not an OTLP signal`,
		"export DIR --stream logs:v2:shard:*":          `version "v2" of logs`,
		"export DIR --stream logs --from 2h":           "a duration counts back from now and takes a minus sign: -2h",
		"export DIR --stream logs --from -1h --to -2h": "--from",
		"export DIR --stream logs --bogus":             "flag provided but not defined: -bogus",
		"export DIR DIR --stream logs":                 "want 1 argument(s) (DIR), got 2",
		"inspect DIR --budget lots":                    `"lots" is not a size in bytes`,
		"groups reset DIR --group g":                   "--group and --to are required",
		"groups reset DIR --group g --to yesterday":    "--to: want earliest, latest or a time",
		"import DIR x --stream logs --shards 5000":     "--shards must be between 1 and 4096",
		"import DIR x --stream logs --sync sometimes":  `--sync "sometimes"`,
	} {
		r := ctl(t, strings.Fields(strings.ReplaceAll(args, "DIR", dir))...)
		require.Equal(t, exitError, r.code, args)
		require.Contains(t, r.stderr, want, args)
	}
}

// A directory written by multi-process writers: inspect names each
// writer by its slot while they run.
func TestInspect_MultiProcessWriters_AreNamedBySlot(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "windows" {
		t.Skip("whether a lock is held is told without taking it on Linux and Windows only")
	}
	dir := t.TempDir()
	cfg := log.DefaultCometConfig()
	cfg.Concurrency.EnableMultiProcessMode = true
	cfg.Concurrency.ProcessSlots = 2
	var clients []*log.Client
	for range 2 {
		c, err := log.NewClientWithConfig(dir, cfg)
		require.NoError(t, err)
		clients = append(clients, c)
		_, err = c.Append(context.Background(), log.ShardStreamName("logs", "v1", c.OwnedShards(2)[0]), [][]byte{[]byte("x")})
		require.NoError(t, err)
	}
	var rep dirReport
	require.NoError(t, json.Unmarshal([]byte(ctlOK(t, "inspect", "--json", dir).stdout), &rep))
	require.Len(t, rep.Writer.Slots, 2)
	for i, s := range rep.Writer.Slots {
		require.Equal(t, i, s.Slot)
		require.Equal(t, "held", s.Held)
		require.Equal(t, os.Getpid(), s.PID)
	}
	require.Contains(t, ctlOK(t, "inspect", dir).stdout, fmt.Sprintf("running, 2 multi-process writers (slot 0: process %d, slot 1: process %d)", os.Getpid(), os.Getpid()))
	for _, c := range clients {
		require.NoError(t, c.Close())
	}
	require.NoError(t, json.Unmarshal([]byte(ctlOK(t, "inspect", "--json", dir).stdout), &rep))
	require.Equal(t, "free", rep.Writer.Slots[0].Held)
}
