// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"

	"github.com/comet-otel/comet/internal/log"
)

// TestFormat_NewerPayloadVersion_IsRefusedAndLeftUntouched appends, with
// the engine, an intact record whose payload says format version 2: the
// store refuses to open, naming the directory, the record and both
// versions, instead of dropping the record as damage; no byte changes.
func TestFormat_NewerPayloadVersion_IsRefusedAndLeftUntouched(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	c := openTestClient(t, testConfig(dir))
	require.NoError(t, c.Set(ctx, "k", []byte("v")))
	require.NoError(t, c.Close(ctx))

	eng, err := log.NewClientWithConfig(clientDir(dir), engineConfig(clientSettings{segmentSize: minSegmentSize, dirMode: 0o700}))
	require.NoError(t, err)
	newer := append([]byte{formatVersion + 1}, "a record of a later payload format"...)
	locs, err := eng.AppendLocated(ctx, stream, [][]byte{newer})
	require.NoError(t, err)
	require.NoError(t, eng.Close())
	before := segmentHashes(t, dir)

	ext := newTestExtension(t, testConfig(dir))
	_, err = ext.GetClient(ctx, component.KindExporter, testOwner, testStorageName)
	require.ErrorIs(t, err, log.ErrNewerFormat)
	require.ErrorContains(t, err, "payload format version 2")
	require.ErrorContains(t, err, "version 1 and older")
	require.ErrorContains(t, err, clientDir(dir))
	require.ErrorContains(t, err, "offset "+itoa(locs[0].Offset))
	require.Equal(t, before, segmentHashes(t, dir))
}

// TestFormat_NewerEngineFormat_IsRefusedByGetClient: a client directory
// whose engine format marker is newer is refused the same way.
func TestFormat_NewerEngineFormat_IsRefusedByGetClient(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	c := openTestClient(t, testConfig(dir))
	require.NoError(t, c.Set(ctx, "k", []byte("v")))
	require.NoError(t, c.Close(ctx))
	marker := make([]byte, 16)
	copy(marker, "CMFV")
	binary.LittleEndian.PutUint32(marker[4:], 2)
	binary.LittleEndian.PutUint32(marker[12:], crc32.Checksum(marker[:12], crc32.MakeTable(crc32.Castagnoli)))
	require.NoError(t, os.WriteFile(filepath.Join(clientDir(dir), "comet.format"), marker, 0o600))

	ext := newTestExtension(t, testConfig(dir))
	_, err := ext.GetClient(ctx, component.KindExporter, testOwner, testStorageName)
	require.ErrorIs(t, err, log.ErrNewerFormat)
	require.ErrorContains(t, err, "on-disk format version 2")
}

// TestFormat_PayloadVersionZero_IsDamage: a version no writer ever used
// is a malformed record: skipped, counted, the rest of the store intact.
func TestFormat_PayloadVersionZero_IsDamage(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	c := openTestClient(t, testConfig(dir))
	require.NoError(t, c.Set(ctx, "k", []byte("v")))
	require.NoError(t, c.Close(ctx))
	eng, err := log.NewClientWithConfig(clientDir(dir), engineConfig(clientSettings{segmentSize: minSegmentSize, dirMode: 0o700}))
	require.NoError(t, err)
	_, err = eng.Append(ctx, stream, [][]byte{{0, kindBatch, 1, opDelete, 1, 'k'}})
	require.NoError(t, err)
	require.NoError(t, eng.Close())

	c = openTestClient(t, testConfig(dir))
	model{"k": []byte("v")}.check(t, c)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
