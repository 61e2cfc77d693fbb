// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func seq(from, to int) []int64 {
	var out []int64
	for i := from; i < to; i++ {
		out = append(out, int64(i))
	}
	return out
}

func TestExport_JSON_EveryRequestInSendOrder(t *testing.T) {
	dir, sent := logsDir(t, 60, 3, 3000)
	r := ctlOK(t, "export", dir, "--stream", "logs")
	got := readJSONLogs(t, r.stdout)
	require.Equal(t, seq(0, 60), requestIDs(got), "every request once, in the order it was sent, across 4 shards")
	for i := range got {
		require.Equal(t, sent[i], got[i], "request %d round-trips through the exporter and the export", i)
	}
	require.Contains(t, r.stderr, "wrote 60 records (180 log records)")
	require.Contains(t, r.stderr, "from 4 shards of logs:v1 to stdout")

	one := readJSONLogs(t, ctlOK(t, "export", dir, "--stream", "logs:v1:shard:0002").stdout)
	require.Len(t, one, 15)
	all := readJSONLogs(t, ctlOK(t, "export", dir, "--stream", "logs:v1:shard:*").stdout)
	require.Equal(t, got, all)

	r = ctl(t, "export", dir, "--stream", "logs:v1:shard:0009")
	require.Equal(t, exitError, r.code)
	require.Contains(t, r.stderr, "has no stream logs:v1:shard:0009")
	r = ctlOK(t, "export", dir, "--stream", "traces")
	require.Empty(t, r.stdout, "a signal with no shard exports nothing")
	require.Contains(t, r.stderr, "wrote 0 records")
}

func TestExport_TracesAndMetrics_CountsEqualSent(t *testing.T) {
	dir := t.TempDir()
	cfg := exporterConfig(dir)
	var traces []ptrace.Traces
	spans := 0
	for i := range 25 {
		traces = append(traces, makeTraces(i, 1+i%5, 500))
		spans += 1 + i%5
	}
	exportTraces(t, cfg, traces...)
	var metrics []pmetric.Metrics
	for i := range 12 {
		metrics = append(metrics, makeMetrics(i, 7))
	}
	exportMetrics(t, cfg, metrics...)

	r := ctlOK(t, "export", dir, "--stream", "traces")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 25)
	got := 0
	for i, line := range lines {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(line))
		require.NoError(t, err)
		require.Equal(t, traces[i], td)
		got += td.SpanCount()
	}
	require.Equal(t, spans, got)

	r = ctlOK(t, "export", dir, "--stream", "metrics", "--format", "proto")
	frames := splitFrames(t, []byte(r.stdout))
	require.Len(t, frames, 12)
	points := 0
	for i, f := range frames {
		md, err := (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(f)
		require.NoError(t, err)
		require.Equal(t, metrics[i], md)
		points += md.DataPointCount()
	}
	require.Equal(t, 12*7, points)
}

func TestExportImport_RoundTrip_IsByteIdentical(t *testing.T) {
	src := t.TempDir()
	var traces []ptrace.Traces
	for i := range 80 {
		traces = append(traces, makeTraces(i, 3, 400+i*40)) // small and large: raw and zstd records
	}
	exportTraces(t, exporterConfig(src), traces...)
	segs := 0
	for _, nr := range inspectJSON(t, src).Namespaces {
		segs += nr.Segments
	}
	require.Greater(t, segs, 4, "several segments per shard")

	out := t.TempDir()
	first := filepath.Join(out, "first.pb")
	ctlOK(t, "export", src, "--stream", "traces", "--format", "proto", "-o", first)
	dst := filepath.Join(t.TempDir(), "new")
	r := ctlOK(t, "import", dst, first, "--stream", "traces")
	require.Contains(t, r.stdout, "appended 80 records (240 spans")
	require.Contains(t, r.stdout, "(proto) to shards 0 to 15 of traces:v1 (round robin)")
	second := filepath.Join(out, "second.pb")
	ctlOK(t, "export", dst, "--stream", "traces", "--format", "proto", "-o", second)

	a, err := os.ReadFile(first)
	require.NoError(t, err)
	b, err := os.ReadFile(second)
	require.NoError(t, err)
	require.True(t, bytes.Equal(a, b), "export, import into a fresh directory, export: the same bytes")
	for i, f := range splitFrames(t, a) {
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(f)
		require.NoError(t, err)
		require.Equal(t, traces[i], td)
	}
	require.Empty(t, ctlOK(t, "verify", dst).stderr)

	// The same through OTLP JSON.
	j1 := ctlOK(t, "export", src, "--stream", "traces").stdout
	jsonFile := filepath.Join(out, "traces.json")
	require.NoError(t, os.WriteFile(jsonFile, []byte(j1), 0o600))
	dst2 := t.TempDir()
	require.Contains(t, ctlOK(t, "import", dst2, jsonFile, "--stream", "traces", "--shards", "3").stdout, "(json) to shards 0 to 2")
	require.Equal(t, j1, ctlOK(t, "export", dst2, "--stream", "traces").stdout)
	require.Equal(t, a, []byte(ctlOK(t, "export", dst2, "--stream", "traces", "--format", "proto").stdout),
		"JSON imported is stored as the exporter stores it")
}

func inspectJSON(t testing.TB, dir string) dirReport {
	t.Helper()
	var rep dirReport
	require.NoError(t, jsonUnmarshal(ctlOK(t, "inspect", dir, "--json").stdout, &rep))
	return rep
}

func TestExport_Group_OnlyWhatItHasNotAcknowledged(t *testing.T) {
	dir, _ := logsDir(t, 40, 1, 100)
	addGroup(t, dir, "logs", "drain", 3)
	addGroup(t, dir, "logs", "idle", 0)
	got := readJSONLogs(t, ctlOK(t, "export", dir, "--stream", "logs", "--group", "drain").stdout)
	require.Len(t, got, 40-4*3)
	require.Len(t, readJSONLogs(t, ctlOK(t, "export", dir, "--stream", "logs", "--group", "idle").stdout), 40)
	// Round robin over 4 shards: shard k holds requests k, k+4, ...; the
	// first 3 of each shard (requests 0..11) are acknowledged.
	require.Equal(t, seq(12, 40), requestIDs(got))

	r := ctl(t, "export", dir, "--stream", "logs", "--group", "nobody")
	require.Equal(t, exitError, r.code)
	require.Contains(t, r.stderr, `consumer group "nobody" has no offsets on logs:v1:shard:* (groups there: drain, idle)`)
}

func TestExport_TimeWindow(t *testing.T) {
	dir := t.TempDir()
	cfg := exporterConfig(dir)
	write := func(from, to int) time.Time {
		var reqs []plog.Logs
		for i := from; i < to; i++ {
			reqs = append(reqs, makeLogs(i, 1, 2000))
		}
		exportLogs(t, cfg, reqs...)
		time.Sleep(5 * time.Millisecond)
		at := time.Now()
		time.Sleep(5 * time.Millisecond)
		return at
	}
	t1 := write(0, 30)
	t2 := write(30, 70)
	write(70, 100)
	ts := func(t time.Time) string { return t.Format(time.RFC3339Nano) }

	window := func(args ...string) []int64 {
		return requestIDs(readJSONLogs(t, ctlOK(t, append([]string{"export", dir, "--stream", "logs"}, args...)...).stdout))
	}
	require.Equal(t, seq(30, 70), window("--from", ts(t1), "--to", ts(t2)))
	require.Equal(t, seq(0, 30), window("--to", ts(t1)))
	require.Equal(t, seq(70, 100), window("--from", ts(t2)))
	require.Equal(t, seq(0, 100), window("--from", "-1h", "--to", "now"))
	require.Empty(t, window("--to", "-1h"))
	require.Equal(t, seq(30, 35), window("--from", ts(t1), "--limit", "5"))
}

func TestExport_Limit_TakesTheOldest(t *testing.T) {
	dir, _ := logsDir(t, 30, 1, 100)
	require.Equal(t, seq(0, 7), requestIDs(readJSONLogs(t, ctlOK(t, "export", dir, "--stream", "logs", "--limit", "7").stdout)))
	frames := splitFrames(t, []byte(ctlOK(t, "export", dir, "--stream", "logs", "--limit", "3", "--format", "proto").stdout))
	require.Len(t, frames, 3)
}

func TestExport_OutputFile(t *testing.T) {
	dir, _ := logsDir(t, 10, 1, 100)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "logs.json")
	require.NoError(t, os.WriteFile(out, []byte("old content"), 0o600))
	r := ctlOK(t, "export", dir, "--stream", "logs", "-o", out)
	require.Empty(t, r.stdout)
	require.Contains(t, r.stderr, "to "+out)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Len(t, readJSONLogs(t, string(b)), 10)
	entries, err := os.ReadDir(outDir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left")

	r = ctl(t, "export", dir, "--stream", "logs", "-o", filepath.Join(dir, "logs", "dump.json"))
	require.Equal(t, exitError, r.code)
	require.Contains(t, r.stderr, "is inside the data directory")
}

func TestImport_ChoosesShards(t *testing.T) {
	ids := func(n int) string {
		var b strings.Builder
		for i := range n {
			j, err := (&plog.JSONMarshaler{}).MarshalLogs(makeLogs(1000+i, 2, 50))
			require.NoError(t, err)
			b.Write(j)
			b.WriteString("\n\n") // blank lines are skipped
		}
		return b.String()
	}
	file := filepath.Join(t.TempDir(), "logs.json")
	require.NoError(t, os.WriteFile(file, []byte(ids(10)), 0o600))

	entries := func(dir string) map[string]int64 {
		out := map[string]int64{}
		for _, nr := range inspectJSON(t, dir).Namespaces {
			for _, sr := range nr.Shards {
				out[sr.Stream] = sr.Entries
			}
		}
		return out
	}

	fresh := t.TempDir()
	ctlOK(t, "import", fresh, file, "--stream", "logs")
	got := entries(fresh)
	require.Len(t, got, 10, "round robin over 16 shards: the first 10 get one each")
	require.EqualValues(t, 1, got["logs:v1:shard:0009"])

	existing, _ := logsDir(t, 8, 1, 100)
	r := ctlOK(t, "import", existing, file, "--stream", "logs")
	require.Contains(t, r.stdout, "appended 10 records (20 log records")
	require.Contains(t, r.stdout, "to shards 0 to 3 of logs:v1", "as many shards as the exporter wrote")
	require.Equal(t, map[string]int64{"logs:v1:shard:0000": 5, "logs:v1:shard:0001": 5, "logs:v1:shard:0002": 4, "logs:v1:shard:0003": 4}, entries(existing))

	three := t.TempDir()
	ctlOK(t, "import", three, file, "--stream", "logs", "--shards", "3")
	require.Equal(t, map[string]int64{"logs:v1:shard:0000": 4, "logs:v1:shard:0001": 3, "logs:v1:shard:0002": 3}, entries(three))

	single := t.TempDir()
	r = ctlOK(t, "import", single, file, "--stream", "logs:v1:shard:0007")
	require.Contains(t, r.stdout, "to logs:v1:shard:0007 of")
	require.Equal(t, map[string]int64{"logs:v1:shard:0007": 10}, entries(single))
	got2 := requestIDs(readJSONLogs(t, ctlOK(t, "export", single, "--stream", "logs").stdout))
	require.Equal(t, seq(1000, 1010), got2)
}

func TestImport_BadInput_ImportsNothing(t *testing.T) {
	good, err := (&plog.JSONMarshaler{}).MarshalLogs(makeLogs(1, 1, 10))
	require.NoError(t, err)
	goodProto, err := (&plog.ProtoMarshaler{}).MarshalLogs(makeLogs(1, 1, 10))
	require.NoError(t, err)
	frame := func(b []byte) []byte { return append([]byte{0, 0, byte(len(b) >> 8), byte(len(b))}, b...) }
	big, err := (&plog.ProtoMarshaler{}).MarshalLogs(makeLogs(2, 1, 5000))
	require.NoError(t, err)

	cases := map[string]struct {
		content []byte
		args    []string
		want    string
	}{
		"bad json line":       {append(append(bytes.Clone(good), '\n'), "{\"resourceLogs\": 7}\n"...), nil, "line 2: not an OTLP logs request in JSON"},
		"truncated record":    {append(frame(goodProto), frame(goodProto)[:10]...), nil, "byte offset " + itoa(int64(len(goodProto)+4)) + ": the record is"},
		"truncated length":    {append(frame(goodProto), 0, 0), nil, "the file ends inside a record's 4-byte length"},
		"not a logs request":  {frame([]byte{0xff, 0xff, 0xff}), []string{"--format", "proto"}, "byte offset 0: not an OTLP logs request in protobuf"},
		"record too large":    {frame(big), []string{"--max-record-size", "2KiB"}, "more than --max-record-size (2048)"},
		"json as proto":       {append(good, '\n'), []string{"--format", "proto"}, "more than --max-record-size"},
		"wrong signal (json)": {append(good, '\n'), []string{"--stream", "traces"}, "line 1: the request is empty (no resource traces)"},
		"empty record":        {frame(nil), nil, "byte offset 0: the request is empty"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "input")
			require.NoError(t, os.WriteFile(file, c.content, 0o600))
			dir := filepath.Join(t.TempDir(), "dir")
			args := append([]string{"import", dir, file}, c.args...)
			if !slices.Contains(c.args, "--stream") {
				args = append(args, "--stream", "logs")
			}
			r := ctl(t, args...)
			require.Equal(t, exitError, r.code, r.stderr)
			require.Contains(t, r.stderr, c.want)
			require.Contains(t, r.stderr, "nothing was imported")
			_, err := os.Stat(dir)
			require.ErrorIs(t, err, os.ErrNotExist, "the directory was not even created")
		})
	}
}
