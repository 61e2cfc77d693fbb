// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEncodeBatch_WritesTheDocumentedRecords checks every encoding path
// (small batches, large raw batches, large batches split over cores for
// compression) against the record format of doc.go, read field by field:
// length, a CRC-32C over bytes 8 .. 20+length, timestamp, codec flag, zero
// version and reserved bytes, and the payload, for entry lengths of every
// alignment.
func TestEncodeBatch_WritesTheDocumentedRecords(t *testing.T) {
	const ts = 1_700_000_000_123_456_789
	mixed := [][]byte{{}, []byte("a"), []byte("abc"), payload(0, 1, 7), payload(0, 2, 8), payload(0, 3, 9),
		payload(0, 4, 100), payload(0, 5, 801), bytes.Repeat([]byte("compressible "), 400)}
	var largeRaw, largeMixed [][]byte
	for i := range 1500 {
		largeRaw = append(largeRaw, payload(0, i, 90+i%17)) // > parallelEncodeBytes in all
		largeMixed = append(largeMixed, payload(0, i, 90+i%17))
		if i%100 == 0 {
			largeMixed = append(largeMixed, bytes.Repeat([]byte{byte(i)}, 5000))
		}
	}
	for _, tc := range []struct {
		name    string
		entries [][]byte
	}{{"single", mixed[4:5]}, {"mixed", mixed}, {"large raw", largeRaw}, {"large with compressible entries", largeMixed}} {
		for _, cfg := range []CompressionConfig{{Codec: CodecNone}, {Codec: CodecZstd, MinCompressSize: 4096}} {
			t.Run(fmt.Sprintf("%s/codec=%d", tc.name, cfg.Codec), func(t *testing.T) {
				b := encodeBatch(tc.entries, ts, &cfg)
				defer b.free()
				checkRecords(t, b, tc.entries, ts, cfg.Codec == CodecZstd)
			})
		}
	}
}

// checkRecords decodes b.buf as doc.go specifies and compares it with
// entries.
func checkRecords(t *testing.T, b *batch, entries [][]byte, ts int64, mayCompress bool) {
	t.Helper()
	require.Len(t, b.starts, len(entries))
	pos, raw, zipped := 0, int64(0), int64(0)
	for i, e := range entries {
		require.Equal(t, pos, b.starts[i], "record %d starts after the previous one", i)
		rec := b.buf[pos:]
		n := int(binary.LittleEndian.Uint32(rec[0:4]))
		require.LessOrEqual(t, headerSize+n, len(rec), "record %d: length %d past the batch", i, n)
		rec = rec[:headerSize+n]
		require.Equal(t, crc32.Checksum(rec[8:], crc32.MakeTable(crc32.Castagnoli)), binary.LittleEndian.Uint32(rec[4:8]), "record %d: CRC-32C of bytes 8..20+length", i)
		require.Equal(t, uint64(ts), binary.LittleEndian.Uint64(rec[8:16]), "record %d: timestamp", i)
		require.Equal(t, []byte{0, 0, 0}, rec[17:20], "record %d: version and reserved bytes", i)
		switch rec[16] {
		case codecRawFlag:
			require.Equal(t, e, rec[headerSize:], "record %d: raw payload", i)
		case codecZstdFlag:
			require.True(t, mayCompress, "record %d compressed without zstd configured", i)
			got, err := decodePayload(rec[headerSize:], codecZstdFlag)
			require.NoError(t, err)
			require.Equal(t, e, got, "record %d: decompressed payload", i)
			zipped++
		default:
			t.Fatalf("record %d: flags %#x", i, rec[16])
		}
		raw += int64(len(e))
		pos += len(rec)
	}
	require.Equal(t, len(b.buf), pos, "the batch holds its records and nothing else")
	require.Equal(t, raw, b.raw)
	require.Equal(t, zipped, b.zipped)
}
