// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// groupOffsets returns group's offset per stream, from groups --json.
func groupOffsetsOf(t *testing.T, dir, group string) map[string]int64 {
	t.Helper()
	var rep groupsReport
	require.NoError(t, json.Unmarshal([]byte(ctlOK(t, "groups", dir, "--json").stdout), &rep))
	out := map[string]int64{}
	for _, g := range rep.Groups {
		if g.Group != group {
			continue
		}
		for _, s := range g.Shards {
			if s.Offset != nil {
				out[s.Stream] = *s.Offset
			}
		}
	}
	return out
}

func allShards(v int64) map[string]int64 {
	return map[string]int64{"logs:v1:shard:0000": v, "logs:v1:shard:0001": v, "logs:v1:shard:0002": v, "logs:v1:shard:0003": v}
}

func TestGroups_ResetAndDelete(t *testing.T) {
	dir := t.TempDir()
	cfg := exporterConfig(dir)
	batch := func(from int) {
		var reqs []plog.Logs
		for i := from; i < from+8; i++ { // 8 requests: 2 per shard whatever shard comes first
			reqs = append(reqs, makeLogs(i, 1, 100))
		}
		exportLogs(t, cfg, reqs...)
	}
	batch(0)
	time.Sleep(5 * time.Millisecond)
	between := time.Now()
	time.Sleep(5 * time.Millisecond)
	batch(8)
	addGroup(t, dir, "logs", "g", 1)
	addGroup(t, dir, "logs", "other", 3)
	require.Equal(t, allShards(1), groupOffsetsOf(t, dir, "g"))

	r := ctlOK(t, "groups", "reset", dir, "--group", "g", "--to", "latest")
	require.Contains(t, r.stdout, "STREAM              OLD OFFSET  NEW OFFSET\nlogs:v1:shard:0000  1           4\n")
	require.Equal(t, allShards(4), groupOffsetsOf(t, dir, "g"))
	require.Contains(t, ctlOK(t, "groups", dir, "--group", "g").stdout, "g      logs:v1 (4 shards)                 0")

	ctlOK(t, "groups", "reset", dir, "--group", "g", "--to", "earliest")
	require.Equal(t, allShards(0), groupOffsetsOf(t, dir, "g"))
	ctlOK(t, "groups", "reset", dir, "--to", between.Format(time.RFC3339Nano), "--group", "g")
	require.Equal(t, allShards(2), groupOffsetsOf(t, dir, "g"), "the first entry appended after the time")
	got := readJSONLogs(t, ctlOK(t, "export", dir, "--stream", "logs", "--group", "g").stdout)
	require.Equal(t, seq(8, 16), requestIDs(got), "the group replays from the time")
	ctlOK(t, "groups", "reset", dir, "--group", "g", "--to", "-1h")
	require.Equal(t, allShards(0), groupOffsetsOf(t, dir, "g"))
	require.Equal(t, allShards(3), groupOffsetsOf(t, dir, "other"), "other groups keep their offsets")

	r = ctl(t, "groups", "reset", dir, "--group", "new", "--to", "latest")
	require.Equal(t, exitError, r.code)
	require.Contains(t, r.stderr, `consumer group "new" has no offsets in `+dir+` (groups there: g, other); name --stream to act on a namespace anyway`)
	ctlOK(t, "groups", "reset", dir, "--group", "new", "--to", "latest", "--stream", "logs:v1:shard:0002")
	require.Equal(t, map[string]int64{"logs:v1:shard:0002": 4}, groupOffsetsOf(t, dir, "new"))

	r = ctlOK(t, "groups", "delete", dir, "--group", "g")
	require.Equal(t, "deleted consumer group \"g\" from 4 shards of logs:v1\n", r.stdout)
	require.Empty(t, groupOffsetsOf(t, dir, "g"))
	files, err := filepath.Glob(filepath.Join(dir, "logs", "v1", "*", "groups", "*.offset"))
	require.NoError(t, err)
	require.Len(t, files, 5, "other's four and new's one")
	r = ctl(t, "groups", "delete", dir, "--group", "g")
	require.Equal(t, exitError, r.code)
	require.Contains(t, r.stderr, `consumer group "g" has no offsets`)

	segs, err := filepath.Glob(filepath.Join(dir, "logs", "v1", "*", "*.comet"))
	require.NoError(t, err)
	require.Len(t, segs, 4, "group changes delete no data")
	require.Len(t, readJSONLogs(t, ctlOK(t, "export", dir, "--stream", "logs").stdout), 16)
}

func TestGroups_ListAcrossNamespaces(t *testing.T) {
	dir := signalsDirSmall(t)
	addGroup(t, dir, "logs", "comet", 2)
	addGroup(t, dir, "traces", "comet", 0)
	var rep groupsReport
	require.NoError(t, json.Unmarshal([]byte(ctlOK(t, "groups", dir, "--json").stdout), &rep))
	require.Len(t, rep.Groups, 2)
	require.Equal(t, "logs", rep.Groups[0].Namespace)
	require.EqualValues(t, 8-2*4, rep.Groups[0].Lag)
	require.Equal(t, "traces", rep.Groups[1].Namespace)
	require.EqualValues(t, 8, rep.Groups[1].Lag)
	require.NotNil(t, rep.Groups[1].AgeSeconds)

	r := ctlOK(t, "groups", "delete", dir, "--group", "comet")
	require.Equal(t, "deleted consumer group \"comet\" from 4 shards of logs:v1\ndeleted consumer group \"comet\" from 4 shards of traces:v1\n", r.stdout)
	require.Contains(t, ctlOK(t, "groups", dir).stdout, "No consumer groups.")
	_, err := os.Stat(filepath.Join(dir, "logs"))
	require.NoError(t, err)
}

// signalsDirSmall writes 8 log and 8 trace requests through the exporter.
func signalsDirSmall(t *testing.T) string {
	dir, _ := logsDir(t, 8, 1, 100)
	exportTraces(t, exporterConfig(dir), makeTraces(0, 1, 10), makeTraces(1, 1, 10), makeTraces(2, 1, 10), makeTraces(3, 1, 10),
		makeTraces(4, 1, 10), makeTraces(5, 1, 10), makeTraces(6, 1, 10), makeTraces(7, 1, 10))
	return dir
}
