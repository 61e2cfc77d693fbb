// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/comet-otel/comet/cometstorage/internal/metadatatest"
	"github.com/comet-otel/comet/internal/log"
)

// Corruption tests damage real segment files at real record offsets and
// expect the store to open, to lose exactly the batches whose records were
// damaged (both keys of a batch, never one), to report them, and to keep
// working.

const corruptionBatches = 300

// writeBatches writes batch i = {Set a<i>, Set b<i>, Set last=i} with
// values of a few hundred bytes, over several 64 KiB segments, and closes
// the store.
func writeBatches(t *testing.T, dir string) {
	ctx := context.Background()
	c := openTestClient(t, testConfig(dir))
	for i := range corruptionBatches {
		v := fmt.Appendf(nil, "%04d-%0500d", i, i)
		require.NoError(t, c.Batch(ctx,
			storage.SetOperation(fmt.Sprint("a", i), v),
			storage.SetOperation(fmt.Sprint("b", i), v),
			storage.SetOperation("last", fmt.Append(nil, i))))
	}
	require.NoError(t, c.Close(ctx))
}

// recordLocations lists the records of the client's log with the engine.
func recordLocations(t *testing.T, dir string) []log.Location {
	t.Helper()
	eng, err := log.NewClientWithConfig(clientDir(dir), engineConfig(clientSettings{segmentSize: minSegmentSize, dirMode: 0o700}))
	require.NoError(t, err)
	defer eng.Close()
	var locs []log.Location
	require.NoError(t, eng.Scan(context.Background(), stream, 0, func(loc log.Location, _ []byte) error {
		locs = append(locs, loc)
		return nil
	}))
	return locs
}

func segmentPath(dir string, base int64) string {
	return filepath.Join(clientDir(dir), "kv", "v1", "shard-0000", fmt.Sprintf("log-%016d.comet", base))
}

// flipByte inverts one byte of a file.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off)
	require.NoError(t, err)
	b[0] ^= 0xff
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
}

// reopenAfterDamage opens the store with telemetry and returns the
// batches that were lost. It checks that every batch is there whole or
// gone whole, that "last" holds the newest surviving batch, that damaged
// records were counted, and that the store takes writes and survives
// another restart with the same batches.
func reopenAfterDamage(t *testing.T, dir string, damaged int64) (lost []int) {
	t.Helper()
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(ctx)) })
	ext, err := NewFactory().Create(ctx, metadatatest.NewSettings(tt), testConfig(dir))
	require.NoError(t, err)
	require.NoError(t, ext.Start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(ctx)) })
	sc, err := ext.(storage.Extension).GetClient(ctx, component.KindExporter, testOwner, testStorageName)
	require.NoError(t, err)
	c := sc.(*client)
	lost = lostBatches(t, c)
	if damaged > 0 {
		metadatatest.AssertEqualCometStorageDamagedRecords(t, tt,
			[]metricdata.DataPoint[int64]{{Value: damaged}}, metricdatatest.IgnoreTimestamp())
	} else {
		_, err := tt.GetMetric("otelcol_comet_storage_damaged_records")
		require.Error(t, err, "no damage reported")
	}

	require.NoError(t, c.Set(ctx, "after", []byte("repair")))
	require.NoError(t, c.Close(ctx))
	c = openTestClient(t, testConfig(dir))
	requireValue(t, c, "after", []byte("repair"))
	require.Equal(t, lost, lostBatches(t, c), "the next open finds the same batches")
	return lost
}

// lostBatches returns the batches of writeBatches that c does not hold,
// checking that the others are there whole and that "last" names the
// newest of them.
func lostBatches(t *testing.T, c *client) (lost []int) {
	t.Helper()
	ctx := context.Background()
	lastIntact := -1
	for i := range corruptionBatches {
		want := fmt.Appendf(nil, "%04d-%0500d", i, i)
		a, err := c.Get(ctx, fmt.Sprint("a", i))
		require.NoError(t, err)
		b, err := c.Get(ctx, fmt.Sprint("b", i))
		require.NoError(t, err)
		switch {
		case a == nil && b == nil:
			lost = append(lost, i)
		case bytes.Equal(a, want) && bytes.Equal(b, want):
			lastIntact = i
		default:
			t.Fatalf("batch %d is partly there or wrong: a=%.20q b=%.20q", i, a, b)
		}
	}
	requireValue(t, c, "last", fmt.Append(nil, lastIntact))
	return lost
}

func TestCorruption_TornLastRecord(t *testing.T) {
	dir := t.TempDir()
	writeBatches(t, dir)
	locs := recordLocations(t, dir)
	last := locs[len(locs)-1]
	require.NoError(t, os.Truncate(segmentPath(dir, last.Segment), last.Offset+last.Size/2))
	require.Equal(t, []int{corruptionBatches - 1}, reopenAfterDamage(t, dir, 1))
}

func TestCorruption_BadChecksumInSealedSegment(t *testing.T) {
	dir := t.TempDir()
	writeBatches(t, dir)
	locs := recordLocations(t, dir)
	require.NotEqual(t, locs[0].Segment, locs[len(locs)-1].Segment, "needs several segments")
	victim := 40 // in the first, sealed segment
	require.Equal(t, locs[0].Segment, locs[victim].Segment)
	flipByte(t, segmentPath(dir, locs[victim].Segment), locs[victim].Offset+locs[victim].Size-10)
	require.Equal(t, []int{victim}, reopenAfterDamage(t, dir, 1))
}

func TestCorruption_BadChecksumInActiveSegment(t *testing.T) {
	dir := t.TempDir()
	writeBatches(t, dir)
	locs := recordLocations(t, dir)
	victim := len(locs) - 5
	require.Equal(t, locs[len(locs)-1].Segment, locs[victim].Segment)
	flipByte(t, segmentPath(dir, locs[victim].Segment), locs[victim].Offset+30)
	require.Equal(t, []int{victim}, reopenAfterDamage(t, dir, 1))
}

func TestCorruption_TwoDamagedRecords(t *testing.T) {
	dir := t.TempDir()
	writeBatches(t, dir)
	locs := recordLocations(t, dir)
	for _, victim := range []int{3, 150} {
		flipByte(t, segmentPath(dir, locs[victim].Segment), locs[victim].Offset+locs[victim].Size/2)
	}
	require.Equal(t, []int{3, 150}, reopenAfterDamage(t, dir, 2))
}

func TestCorruption_GarbageAfterTail(t *testing.T) {
	dir := t.TempDir()
	writeBatches(t, dir)
	locs := recordLocations(t, dir)
	f, err := os.OpenFile(segmentPath(dir, locs[len(locs)-1].Segment), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte("\x10\x00\x00\x00garbage that is not a record"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	// Garbage at the end looks like a torn record: truncated and counted,
	// nothing lost.
	require.Empty(t, reopenAfterDamage(t, dir, 1))
}

func TestCorruption_DamagedIndexFile(t *testing.T) {
	dir := t.TempDir()
	writeBatches(t, dir)
	locs := recordLocations(t, dir)
	index := filepath.Join(clientDir(dir), "kv", "v1", "shard-0000", fmt.Sprintf("log-%016d.index", locs[0].Segment))
	require.FileExists(t, index)
	require.NoError(t, os.WriteFile(index, []byte("not an index"), 0o600))
	require.Empty(t, reopenAfterDamage(t, dir, 0))
}

// TestCorruption_DamagedLengthField damages a record's length field, so
// the record no longer says where the next one starts. The engine searches
// for the next intact record: only the damaged batch is lost, in a sealed
// segment and in the active one, whatever the length became.
func TestCorruption_DamagedLengthField(t *testing.T) {
	lengths := []struct {
		name   string
		damage func(length uint32) uint32
	}{
		{"inverted byte", func(l uint32) uint32 { return l ^ 0xff00 }},
		{"one longer", func(l uint32) uint32 { return l + 1 }},
		{"half", func(l uint32) uint32 { return l / 2 }},
		{"zero", func(uint32) uint32 { return 0 }},
		{"above the maximum", func(uint32) uint32 { return math.MaxUint32 }},
	}
	for _, where := range []string{"sealed", "active"} {
		for _, tc := range lengths {
			t.Run(where+"/"+tc.name, func(t *testing.T) {
				dir := t.TempDir()
				writeBatches(t, dir)
				locs := recordLocations(t, dir)
				victim := 40
				if where == "active" {
					victim = len(locs) - 5
				}
				require.Equal(t, where == "active", locs[victim].Segment == locs[len(locs)-1].Segment)
				rewriteLength(t, segmentPath(dir, locs[victim].Segment), locs[victim].Offset, tc.damage)
				require.Equal(t, []int{victim}, reopenAfterDamage(t, dir, 1))
			})
		}
	}
}

// rewriteLength replaces the length field of the record at off (its first
// four bytes, little-endian, in the engine's record format) with
// damage(length).
func rewriteLength(t *testing.T, path string, off int64, damage func(uint32) uint32) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 4)
	_, err = f.ReadAt(b, off)
	require.NoError(t, err)
	binary.LittleEndian.PutUint32(b, damage(binary.LittleEndian.Uint32(b)))
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
}

// TestCorruption_DamagedWhileOpen flips a byte of a live record under an
// open client (or under a key directory restored from a snapshot, which
// does not read the records it points to): the damaged value is never
// returned; the batch the record held is lost whole, as a full read of
// the log would find, so each of its keys takes its previous value; the
// damage is counted once.
func TestCorruption_DamagedWhileOpen(t *testing.T) {
	for _, reopen := range []bool{false, true} {
		t.Run(map[bool]string{false: "open", true: "reopened_from_snapshot"}[reopen], func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			tt := componenttest.NewTelemetry()
			t.Cleanup(func() { require.NoError(t, tt.Shutdown(ctx)) })
			open := func() *client {
				ext, err := NewFactory().Create(ctx, metadatatest.NewSettings(tt), testConfig(dir))
				require.NoError(t, err)
				require.NoError(t, ext.Start(ctx, componenttest.NewNopHost()))
				t.Cleanup(func() { require.NoError(t, ext.Shutdown(ctx)) })
				sc, err := ext.(storage.Extension).GetClient(ctx, component.KindExporter, testOwner, testStorageName)
				require.NoError(t, err)
				return sc.(*client)
			}
			c := open()
			require.NoError(t, c.Set(ctx, "k", []byte("the previous value")))
			require.NoError(t, c.Batch(ctx,
				storage.SetOperation("k", []byte("a value worth keeping")),
				storage.SetOperation("other", []byte("written in the same batch"))))
			c.mu.Lock()
			e := c.kd.keys["k"]
			c.mu.Unlock()
			if reopen {
				require.NoError(t, c.Close(ctx))
			}
			flipByte(t, segmentPath(dir, e.seg), int64(e.off)+int64(e.size)-1)
			if reopen {
				c = open()
			}
			requireValue(t, c, "k", []byte("the previous value"))
			get := storage.GetOperation("other")
			require.NoError(t, c.Batch(ctx, get))
			require.Nil(t, get.Value, "the whole batch is lost")
			require.NoError(t, c.Set(ctx, "k", []byte("new")))
			requireValue(t, c, "k", []byte("new"))
			metadatatest.AssertEqualCometStorageDamagedRecords(t, tt,
				[]metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
			checkAccounting(t, c)
		})
	}
}
