// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

// benchRequests and benchRecords: the benchmark directory holds 2000 log
// requests of 10 log records each (about 1.4 KiB of protobuf per
// request), written by the real exporter over 4 shards.
const (
	benchRequests = 2000
	benchRecords  = 10
)

// benchDir writes the benchmark directory and returns it with the bytes
// of its requests in protobuf.
func benchDir(b *testing.B) (string, int64) {
	dir := b.TempDir()
	var reqs []plog.Logs
	var size int64
	for i := range benchRequests {
		ld := makeLogs(i, benchRecords, 100)
		size += int64((&plog.ProtoMarshaler{}).LogsSize(ld))
		reqs = append(reqs, ld)
	}
	exportLogs(b, exporterConfig(dir), reqs...)
	return dir, size
}

func benchRun(b *testing.B, stdout *bytes.Buffer, args ...string) {
	var stderr bytes.Buffer
	stdout.Reset()
	if code := run(args, stdout, &stderr); code != exitOK {
		b.Fatalf("cometctl %v: exit %d: %s", args, code, stderr.String())
	}
}

func reportRecords(b *testing.B, requests int64) {
	b.ReportMetric(float64(requests)/b.Elapsed().Seconds(), "requests/s")
	b.ReportMetric(float64(requests*benchRecords)/b.Elapsed().Seconds(), "logrecords/s")
}

// BenchmarkExport exports the whole directory to memory: MB/s are bytes
// of stored requests (protobuf) per second.
func BenchmarkExport(b *testing.B) {
	dir, size := benchDir(b)
	for _, format := range []string{"proto", "json"} {
		b.Run("format="+format, func(b *testing.B) {
			var out bytes.Buffer
			b.SetBytes(size)
			b.ReportAllocs()
			var n int64
			for b.Loop() {
				benchRun(b, &out, "export", dir, "--stream", "logs", "--format", format, "--quiet")
				n += benchRequests
			}
			reportRecords(b, n)
		})
	}
}

// BenchmarkImport imports a length-delimited protobuf dump of the
// directory into a new directory, with the exporter's defaults (zstd,
// sync interval): MB/s are bytes of requests per second.
func BenchmarkImport(b *testing.B) {
	dir, size := benchDir(b)
	var out bytes.Buffer
	benchRun(b, &out, "export", dir, "--stream", "logs", "--format", "proto", "--quiet")
	dump := filepath.Join(b.TempDir(), "dump.pb")
	if err := os.WriteFile(dump, out.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		benchRun(b, &out, "import", filepath.Join(b.TempDir(), "dir"), dump, "--stream", "logs", "--quiet")
		n += benchRequests
	}
	reportRecords(b, n)
}

// BenchmarkInspect inspects the directory with one lagging group.
func BenchmarkInspect(b *testing.B) {
	dir, _ := benchDir(b)
	addGroup(b, dir, "logs", "comet", benchRequests/8)
	var out bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		benchRun(b, &out, "inspect", dir, "--json")
	}
}
