// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"

	"github.com/comet-otel/comet/cometexporter"
	"github.com/comet-otel/comet/internal/log"

	"github.com/comet-otel/comet/internal/testexec"
)

// childEnv selects a child-process role when the test binary re-executes
// itself; the value names the role.
const childEnv = "COMETCTL_TEST_CHILD"

var childRoles = map[string]func() error{
	"hold-lock": holdLockChild,
	"drain":     drainChild,
}

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		if err := childRoles[role](); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// drainChild opens COMET_DIR read-only with a consumer of group "g" on
// logs:v1, says "ready", and reads until its stdin closes: a collector
// that only drains the directory (it holds no writer lock).
func drainChild() error {
	cfg := log.DefaultCometConfig()
	cfg.Concurrency.ReadOnly = true
	c, err := log.NewClientWithConfig(os.Getenv("COMET_DIR"), cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	cons := log.NewConsumer(c, log.ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	defer cons.Close()
	if _, err := cons.Read(context.Background(), nil, 1); err != nil {
		return err
	}
	fmt.Println("ready")
	_, _ = os.Stdin.Read(make([]byte, 1))
	return nil
}

// holdLockChild opens COMET_DIR as its writer, says "ready" and holds the
// lock until its stdin closes: a collector running on the directory.
func holdLockChild() error {
	c, err := log.NewClient(os.Getenv("COMET_DIR"))
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("ready")
	_, _ = os.Stdin.Read(make([]byte, 1))
	return nil
}

// result is one run of cometctl.
type result struct {
	code           int
	stdout, stderr string
}

// ctl runs cometctl with args, as the binary would.
func ctl(t testing.TB, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// ctlOK runs cometctl and requires exit status 0.
func ctlOK(t testing.TB, args ...string) result {
	t.Helper()
	r := ctl(t, args...)
	require.Equal(t, exitOK, r.code, "cometctl %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.stdout, r.stderr)
	return r
}

// exporterConfig is the comet exporter's default configuration on dir,
// without fsync (tests), with segments small enough to rotate.
func exporterConfig(dir string) *cometexporter.Config {
	cfg := cometexporter.NewFactory().CreateDefaultConfig().(*cometexporter.Config)
	cfg.Directory = dir
	cfg.Shards = 4
	cfg.SegmentSize = 64 << 10
	cfg.Sync.Mode = cometexporter.SyncNone
	return cfg
}

func exporterSettings() exporter.Settings {
	return exportertest.NewNopSettings(component.MustNewType("comet"))
}

// exportThrough starts the real comet exporter of one signal on cfg, sends
// every request in order, and shuts it down.
func exportThrough[T any](t testing.TB, cfg *cometexporter.Config,
	create func(context.Context, exporter.Settings, component.Config) (T, error),
	consume func(T, context.Context, any) error, requests []any,
) {
	t.Helper()
	ctx := context.Background()
	exp, err := create(ctx, exporterSettings(), cfg)
	require.NoError(t, err)
	c := any(exp).(component.Component)
	require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	for _, r := range requests {
		require.NoError(t, consume(exp, ctx, r))
	}
	require.NoError(t, c.Shutdown(ctx))
}

// exportLogs sends log requests through the real comet exporter.
func exportLogs(t testing.TB, cfg *cometexporter.Config, requests ...plog.Logs) {
	reqs := make([]any, len(requests))
	for i, r := range requests {
		reqs[i] = r
	}
	exportThrough(t, cfg, cometexporter.NewFactory().CreateLogs,
		func(e exporter.Logs, ctx context.Context, r any) error { return e.ConsumeLogs(ctx, r.(plog.Logs)) }, reqs)
}

// exportTraces sends trace requests through the real comet exporter.
func exportTraces(t testing.TB, cfg *cometexporter.Config, requests ...ptrace.Traces) {
	reqs := make([]any, len(requests))
	for i, r := range requests {
		reqs[i] = r
	}
	exportThrough(t, cfg, cometexporter.NewFactory().CreateTraces,
		func(e exporter.Traces, ctx context.Context, r any) error {
			return e.ConsumeTraces(ctx, r.(ptrace.Traces))
		}, reqs)
}

// exportMetrics sends metric requests through the real comet exporter.
func exportMetrics(t testing.TB, cfg *cometexporter.Config, requests ...pmetric.Metrics) {
	reqs := make([]any, len(requests))
	for i, r := range requests {
		reqs[i] = r
	}
	exportThrough(t, cfg, cometexporter.NewFactory().CreateMetrics,
		func(e exporter.Metrics, ctx context.Context, r any) error {
			return e.ConsumeMetrics(ctx, r.(pmetric.Metrics))
		}, reqs)
}

// noise returns n bytes of base64 text derived from seed: compressible
// by about a quarter, so large requests are stored zstd-compressed and
// still fill segments.
func noise(seed, n int) string {
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	b := make([]byte, n*3/4+1)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b)[:n]
}

// makeLogs returns request i: n log records with bodies of about pad
// bytes.
func makeLogs(i, n, pad int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "cometctl-test")
	rl.Resource().Attributes().PutInt("request", int64(i))
	sl := rl.ScopeLogs().AppendEmpty()
	for j := range n {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(i*1000+j)))
		lr.Body().SetStr(fmt.Sprintf("request %d record %d %s", i, j, noise(i*1000+j, pad)))
	}
	return ld
}

// makeTraces returns request i: n spans.
func makeTraces(i, n, pad int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutInt("request", int64(i))
	ss := rs.ScopeSpans().AppendEmpty()
	for j := range n {
		s := ss.Spans().AppendEmpty()
		s.SetName(fmt.Sprintf("span %d.%d", i, j))
		s.SetTraceID(pcommon.TraceID{byte(i), byte(i >> 8), byte(j), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
		s.SetSpanID(pcommon.SpanID{byte(j), byte(i), 1, 2, 3, 4, 5, 6})
		s.Attributes().PutStr("pad", noise(i*1000+j, pad))
	}
	return td
}

// makeMetrics returns request i: n gauge data points.
func makeMetrics(i, n int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutInt("request", int64(i))
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("cometctl.test")
	g := m.SetEmptyGauge()
	for j := range n {
		dp := g.DataPoints().AppendEmpty()
		dp.SetIntValue(int64(i*100 + j))
	}
	return md
}

// logsDir writes n log requests of k records each through the exporter.
func logsDir(t testing.TB, n, k, pad int) (string, []plog.Logs) {
	dir := t.TempDir()
	var sent []plog.Logs
	for i := range n {
		sent = append(sent, makeLogs(i, k, pad))
	}
	exportLogs(t, exporterConfig(dir), sent...)
	return dir, sent
}

// readJSONLogs decodes OTLP JSON lines of logs.
func readJSONLogs(t testing.TB, out string) []plog.Logs {
	t.Helper()
	var got []plog.Logs
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs([]byte(line))
		require.NoError(t, err)
		got = append(got, ld)
	}
	return got
}

// requestIDs returns the "request" resource attribute of each request.
func requestIDs(reqs []plog.Logs) []int64 {
	var ids []int64
	for _, r := range reqs {
		v, _ := r.ResourceLogs().At(0).Resource().Attributes().Get("request")
		ids = append(ids, v.Int())
	}
	return ids
}

// splitFrames splits length-delimited protobuf (4-byte big-endian lengths).
func splitFrames(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var frames [][]byte
	for len(b) > 0 {
		require.GreaterOrEqual(t, len(b), 4)
		n := binary.BigEndian.Uint32(b)
		require.GreaterOrEqual(t, len(b)-4, int(n))
		frames = append(frames, b[4:4+n])
		b = b[4+n:]
	}
	return frames
}

// fileState is what a read-only command must not change in a file.
type fileState struct {
	sum   [32]byte
	size  int64
	mtime time.Time
}

// snapshot records every file and directory under dir: contents, size
// and modification time (directories: their mtime, which changes when an
// entry is created or removed).
func snapshot(t testing.TB, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := fileState{mtime: info.ModTime()}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			st.sum, st.size = sha256.Sum256(b), info.Size()
		}
		out[path] = st
		return nil
	}))
	return out
}

// addGroup makes consumer group name read and acknowledge the first acked
// entries of every shard of namespace in dir (closed directory).
func addGroup(t testing.TB, dir, namespace, name string, acked int64) {
	t.Helper()
	c, err := log.NewClient(dir)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	cons := log.NewConsumer(c, log.ConsumerOptions{Group: name, Stream: namespace + ":v1:shard:*"})
	defer cons.Close()
	require.NoError(t, cons.Register(context.Background()))
	shards, err := cons.Shards()
	require.NoError(t, err)
	for _, s := range shards {
		if acked > 0 {
			require.NoError(t, cons.AckRange(context.Background(), s, 0, acked-1))
		}
	}
}

// startChild re-executes the test binary in a role and waits for its
// "ready" line; the child ends when the test does.
func startChild(t *testing.T, role string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := testexec.Command("-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+role), env...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr // the child's errors appear in the test's output
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line := make([]byte, 6)
	_, err = io.ReadFull(stdout, line)
	require.NoError(t, err)
	require.Equal(t, "ready\n", string(line))
	return cmd
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
