// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/comet-otel/comet/internal/log"
)

// damage describes what damagedDir broke, for the tests to check.
type damage struct {
	flipped      string // segment with a flipped bit in a record
	flippedAt    int64  // that record's offset
	flippedEntry int64
	flippedID    int64  // the request it held
	torn         string // active segment with a torn record appended
	tornAt       int64
	index        string // index with a damaged point
	offsetFile   string // offset file with a damaged header
}

// damagedDir writes 120 log requests through the exporter (4 shards,
// several segments each), adds consumer group "g", then damages it: a bit
// flip in a record of a sealed segment of shard 0, a torn record at the
// end of shard 1, a corrupt index in shard 2, a corrupt offset file in
// shard 3.
func damagedDir(t *testing.T) (string, damage) {
	dir, _ := logsDir(t, 120, 1, 4000)
	addGroup(t, dir, "logs", "g", 2)
	var d damage
	shard := func(k int) string { return filepath.Join(dir, "logs", "v1", fmt.Sprintf("shard-%04d", k)) }
	segments := func(k int) []string {
		names, err := filepath.Glob(filepath.Join(shard(k), "log-*.comet"))
		require.NoError(t, err)
		slices.Sort(names)
		require.Greater(t, len(names), 1, "shard %d has sealed segments", k)
		return names
	}

	d.flipped = segments(0)[0] // sealed: only a read finds the damage
	offs := recordOffsets(t, d.flipped)
	d.flippedAt = offs[1]
	var base int64
	_, err := fmt.Sscanf(filepath.Base(d.flipped), "log-%016d.comet", &base)
	require.NoError(t, err)
	d.flippedEntry = base + 1
	d.flippedID = requestAt(t, dir, "logs:v1:shard:0000", d.flippedEntry)
	flip(t, d.flipped, d.flippedAt+30)

	segs := segments(1)
	d.torn = segs[len(segs)-1]
	info, err := os.Stat(d.torn)
	require.NoError(t, err)
	d.tornAt = info.Size()
	torn := make([]byte, 40)
	binary.LittleEndian.PutUint32(torn, 900) // promises 900 bytes: a write cut short
	appendTo(t, d.torn, torn)

	d.index = strings.TrimSuffix(segments(2)[0], ".comet") + ".index"
	flip(t, d.index, 52+8) // the first point's byte offset

	files, err := filepath.Glob(filepath.Join(shard(3), "groups", "*.offset"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	d.offsetFile = files[0]
	flip(t, d.offsetFile, 13) // the group name's checksum
	return dir, d
}

// requestAt returns the "request" attribute of the entry of a stream.
func requestAt(t *testing.T, dir, stream string, entry int64) int64 {
	cfg := log.DefaultCometConfig()
	cfg.Concurrency.ReadOnly = true
	c, err := log.NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	defer c.Close()
	var id int64 = -1
	err = c.ScanRecords(context.Background(), stream, entry, func(r log.Record) error {
		ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(r.Data)
		require.NoError(t, err)
		id = requestIDs([]plog.Logs{ld})[0]
		return errFound
	})
	require.ErrorIs(t, err, errFound)
	return id
}

// recordOffsets returns the byte offset of every record of an intact segment.
func recordOffsets(t *testing.T, path string) []int64 {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var offs []int64
	for pos := 0; pos+20 <= len(b); pos += 20 + int(binary.LittleEndian.Uint32(b[pos:])) {
		offs = append(offs, int64(pos))
	}
	return offs
}

func flip(t *testing.T, path string, at int64) {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[at] ^= 0x08
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

func appendTo(t *testing.T, path string, b []byte) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestDamagedDirectory_VerifyNamesEachDamage_InspectAndExportStillWork(t *testing.T) {
	dir, d := damagedDir(t)

	r := ctl(t, "verify", dir, "--quiet")
	require.Equal(t, exitDamage, r.code, r.stdout)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var damageLines []string
	for _, l := range lines {
		if strings.HasPrefix(l, "damage: ") {
			damageLines = append(damageLines, l)
		}
	}
	require.Len(t, damageLines, 4, r.stdout)
	require.Contains(t, r.stdout, fmt.Sprintf("damage: %s: offset %d (entry %d): checksum mismatch", d.flipped, d.flippedAt, d.flippedEntry))
	require.Contains(t, r.stdout, fmt.Sprintf("damage: %s: offset %d (entry 30): the last 40 bytes are an incomplete record", d.torn, d.tornAt))
	require.Contains(t, r.stdout, fmt.Sprintf("damage: %s: offset 60: index point for relative entry 0 says offset", d.index))
	require.Contains(t, r.stdout, fmt.Sprintf("damage: %s: offset 13: header checksum mismatch", d.offsetFile))
	require.Equal(t, "verify: DAMAGED: 4 damaged places (2 damaged records) in 4 shards", lines[len(lines)-1][:len("verify: DAMAGED: 4 damaged places (2 damaged records) in 4 shards")])

	r = ctlOK(t, "inspect", dir)
	require.Contains(t, r.stdout, "logs:v1 (4 shards)")
	require.Contains(t, r.stdout, "Damaged offset file of logs:v1:shard:0003: "+d.offsetFile)
	require.Contains(t, r.stderr, d.index, "the engine says it ignores the damaged index")
	rep := inspectJSON(t, dir)
	require.EqualValues(t, 120, rep.Entries, "the damaged record keeps its entry number; the torn tail is no entry")
	require.Len(t, rep.DamagedOffsetFiles, 1)

	r = ctl(t, "export", dir, "--stream", "logs")
	require.Equal(t, exitDamage, r.code, r.stderr)
	want := slices.DeleteFunc(seq(0, 120), func(id int64) bool { return id == d.flippedID })
	require.Equal(t, want, requestIDs(readJSONLogs(t, r.stdout)), "everything but the damaged record, in order")
	require.Contains(t, r.stderr, d.flipped)
	require.Contains(t, r.stderr, fmt.Sprintf("at offset %d (entry %d): checksum mismatch", d.flippedAt, d.flippedEntry))
	require.Contains(t, r.stderr, "entries of the exported range skipped because they could not be read: 1: damaged")

	r = ctl(t, "export", dir, "--stream", "logs:v1:shard:0001", "--format", "proto")
	require.Equal(t, exitOK, r.code, "a torn tail is not an entry: nothing of shard 1 is lost: %s", r.stderr)
	require.Len(t, splitFrames(t, []byte(r.stdout)), 30)
}
