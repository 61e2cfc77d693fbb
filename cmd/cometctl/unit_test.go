// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pprofile"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"now":                            now,
		"-2h":                            now.Add(-2 * time.Hour),
		"-1h30m":                         now.Add(-90 * time.Minute),
		"2025-02-28T10:00:00Z":           time.Date(2025, 2, 28, 10, 0, 0, 0, time.UTC),
		"2025-02-28T10:00:00.5+02:00":    time.Date(2025, 2, 28, 8, 0, 0, 5e8, time.UTC),
		"2025-02-28T10:00:00.123456789Z": time.Date(2025, 2, 28, 10, 0, 0, 123456789, time.UTC),
	} {
		got, err := parseTime(in, now)
		require.NoError(t, err, in)
		require.True(t, want.Equal(got), "%s: %s", in, got)
	}
	for in, msg := range map[string]string{
		"2h":         "takes a minus sign: -2h",
		"-2 hours":   "is not a duration",
		"yesterday":  "is not an RFC 3339 time",
		"2025-02-28": "is not an RFC 3339 time",
	} {
		_, err := parseTime(in, now)
		require.ErrorContains(t, err, msg, in)
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "512KiB": 512 << 10, "8MiB": 8 << 20, "1GiB": 1 << 30, "2GB": 2e9, "10B": 10} {
		got, err := parseByteSize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for v, want := range map[int64]string{0: "0", 8 << 20: "8MiB", 1536: "1536", 3 << 30: "3GiB", 512 << 10: "512KiB"} {
		b := byteSize(v)
		require.Equal(t, want, b.String())
	}
	for _, in := range []string{"", "-1", "1.5GiB", "lots", "9999999999TiB", "MiB"} {
		_, err := parseByteSize(in)
		require.Error(t, err, in)
	}
}

func TestParseSelection(t *testing.T) {
	sel, err := parseSelection("logs")
	require.NoError(t, err)
	require.Equal(t, "logs:v1:shard:*", sel.pattern())
	require.True(t, sel.covers("logs:v1:shard:0007"))
	require.False(t, sel.covers("logs:v2:shard:0007"))
	require.False(t, sel.covers("traces:v1:shard:0007"))

	sel, err = parseSelection("logs:v1:shard:3")
	require.NoError(t, err)
	require.Equal(t, "logs:v1:shard:0003", sel.pattern())
	require.Equal(t, []string{"logs:v1:shard:0003"}, sel.pick([]string{"logs:v1:shard:0002", "logs:v1:shard:0003", "traces:v1:shard:0003"}))

	for _, bad := range []string{"", "logs:v1", "logs:v1:part:1", "logs:v1:shard:x", "lo gs", "logs:v1:shard:-1", ":v1:shard:*"} {
		_, err := parseSelection(bad)
		require.Error(t, err, bad)
	}
}

func TestProgress_ReportsOnlyLongRunsAndAtMostEveryInterval(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(1000, 0)
	p := &progress{w: &out, now: func() time.Time { return now }, next: now.Add(progressEvery)}
	calls := 0
	line := func() string { calls++; return "line" }
	p.update(line)
	now = now.Add(progressEvery - time.Millisecond)
	p.update(line)
	require.Zero(t, calls, "nothing before the first interval")
	now = now.Add(time.Millisecond)
	p.update(line)
	p.update(line)
	now = now.Add(progressEvery)
	p.update(line)
	require.Equal(t, "line\nline\n", out.String())
	var quiet *progress
	quiet.update(line)
	require.Equal(t, 2, calls)
	require.Nil(t, newProgress(&out, true))
}

func TestHumanFormats(t *testing.T) {
	require.Equal(t, "512 B", humanBytes(512))
	require.Equal(t, "1.5 KiB", humanBytes(1536))
	require.Equal(t, "312.5 MiB", humanBytes(312<<20+512<<10))
	require.Equal(t, "45s", humanAge(45*time.Second+300*time.Millisecond))
	require.Equal(t, "3h12m0s", humanAge(3*time.Hour+12*time.Minute+5*time.Second))
	require.Equal(t, "4d2h", humanAge(98*time.Hour+time.Minute))
	require.Equal(t, "0s", humanAge(-time.Second))
}

// makeProfiles returns a profiles request with n samples.
func makeProfiles(i, n int) pprofile.Profiles {
	pd := pprofile.NewProfiles()
	rp := pd.ResourceProfiles().AppendEmpty()
	rp.Resource().Attributes().PutInt("request", int64(i))
	prof := rp.ScopeProfiles().AppendEmpty().Profiles().AppendEmpty()
	prof.SetProfileID(pprofile.ProfileID{byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	for j := range n {
		s := prof.Samples().AppendEmpty()
		s.Values().Append(int64(i*10 + j))
	}
	return pd
}

func TestImportExport_Profiles(t *testing.T) {
	var lines bytes.Buffer
	var frames bytes.Buffer
	for i := range 6 {
		j, err := (&pprofile.JSONMarshaler{}).MarshalProfiles(makeProfiles(i, 3))
		require.NoError(t, err)
		lines.Write(j)
		lines.WriteByte('\n')
		p, err := (&pprofile.ProtoMarshaler{}).MarshalProfiles(makeProfiles(i, 3))
		require.NoError(t, err)
		frames.Write([]byte{0, 0, byte(len(p) >> 8), byte(len(p))})
		frames.Write(p)
	}
	file := filepath.Join(t.TempDir(), "profiles.json")
	require.NoError(t, os.WriteFile(file, lines.Bytes(), 0o600))
	dir := t.TempDir()
	r := ctlOK(t, "import", dir, file, "--stream", "profiles", "--shards", "2")
	require.Contains(t, r.stdout, "appended 6 records (18 samples")

	require.Equal(t, lines.String(), ctlOK(t, "export", dir, "--stream", "profiles").stdout)
	require.Equal(t, frames.Bytes(), []byte(ctlOK(t, "export", dir, "--stream", "profiles:v1:shard:*", "--format", "proto").stdout))
}

// FuzzImportReader feeds arbitrary bytes to import's readers: they never
// panic, never return more than the input holds, and return only
// requests that decode.
func FuzzImportReader(f *testing.F) {
	j, _ := (&pprofile.JSONMarshaler{}).MarshalProfiles(makeProfiles(1, 2))
	f.Add(append(j, '\n'), "auto")
	f.Add(append([]byte("{}\n  \n"), j...), "json")
	p, _ := (&pprofile.ProtoMarshaler{}).MarshalProfiles(makeProfiles(1, 2))
	f.Add(append([]byte{0, 0, 0, byte(len(p))}, p...), "auto")
	f.Add([]byte{0, 0, 0, 9, 1}, "proto")
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, "proto")
	f.Fuzz(func(t *testing.T, data []byte, format string) {
		if format != formatJSON && format != formatProto {
			format = formatAuto
		}
		sig := signals[signalNames()[int(len(data))%len(signals)]]
		rr, _, err := newRecordReader(bufio.NewReaderSize(bytes.NewReader(data), 16), format, sig, 4096)
		require.NoError(t, err)
		for range len(data) + 1 {
			rec, err := rr.next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				require.NotEmpty(t, err.Error())
				return
			}
			require.NotEmpty(t, rec.proto)
			require.LessOrEqual(t, len(rec.proto), 4096)
			_, err = sig.CheckProto(rec.proto)
			require.NoError(t, err, "a request read is one the signal decodes")
			require.True(t, strings.HasPrefix(rec.where, "line ") || strings.HasPrefix(rec.where, "byte offset "))
		}
		t.Fatalf("more requests than bytes in %d bytes of input", len(data))
	})
}
