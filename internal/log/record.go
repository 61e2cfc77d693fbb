// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"encoding/binary"
	"hash/crc32"
)

// Record layout (little-endian), see doc.go:
//
//	[0:4]   payload length in bytes (uint32)
//	[4:8]   CRC-32C of bytes [8 : 20+length)
//	[8:16]  append time, Unix nanoseconds (int64)
//	[16]    flags: bits 0-1 codec (0 raw, 1 zstd), bits 2-7 zero
//	[17]    on-disk format version minus one: 0 (format 1)
//	[18:20] reserved, zero
//	[20:]   payload
const (
	headerSize = 20

	flagCodecMask = 0x03
	codecRawFlag  = 0
	codecZstdFlag = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header is a decoded record header.
type header struct {
	length uint32
	crc    uint32
	ts     int64
	flags  byte
}

// putHeader writes a header for a payload already placed at rec[headerSize:]
// and computes the checksum over the rest of the header and the payload.
func putHeader(rec []byte, ts int64, flags byte) {
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(rec)-headerSize))
	binary.LittleEndian.PutUint64(rec[8:16], uint64(ts))
	rec[16] = flags
	rec[17], rec[18], rec[19] = 0, 0, 0
	binary.LittleEndian.PutUint32(rec[4:8], crc32.Checksum(rec[8:], castagnoli))
}

// headerRestCRC is the CRC-32C of header bytes [8:20] of a record with
// this timestamp and flags: the start of the checksum of every record of
// a batch that shares them, so it is computed once per batch. scratch
// holds the bytes (a heap buffer: a local array would escape to the heap
// through crc32's indirect call).
func headerRestCRC(scratch *[headerSize - 8]byte, ts int64, flags byte) uint32 {
	*scratch = [headerSize - 8]byte{}
	binary.LittleEndian.PutUint64(scratch[0:8], uint64(ts))
	scratch[8] = flags
	return crc32.Checksum(scratch[:], castagnoli)
}

// putRecord writes the record of payload p stored as is (header and copy)
// to rec, which is headerSize+len(p) bytes; restCRC is headerRestCRC of
// ts and flags. The checksum is taken over p where it lies, not over its copy:
// reading back bytes just stored stalls the CPU (stores are not forwarded
// to loads that straddle them) and costs more than the checksum itself.
func putRecord(rec []byte, ts int64, flags byte, restCRC uint32, p []byte) {
	crc := crc32.Update(restCRC, castagnoli, p)
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(p)))
	binary.LittleEndian.PutUint32(rec[4:8], crc)
	binary.LittleEndian.PutUint64(rec[8:16], uint64(ts))
	binary.LittleEndian.PutUint32(rec[16:20], uint32(flags)) // flags, version 0, reserved 0
	copy(rec[headerSize:], p)
}

// parseHeader decodes b[:headerSize]. ok is false when the fixed fields
// hold values no writer of this format produces (unknown codec, non-zero
// reserved bytes, another format version, a length above the hard
// limit): the header is damaged, or of a newer format (newerRecordFormat
// tells which).
func parseHeader(b []byte) (h header, ok bool) {
	h.length = binary.LittleEndian.Uint32(b[0:4])
	h.crc = binary.LittleEndian.Uint32(b[4:8])
	h.ts = int64(binary.LittleEndian.Uint64(b[8:16]))
	h.flags = b[16]
	ok = h.flags&^flagCodecMask == 0 && h.flags&flagCodecMask <= codecZstdFlag &&
		b[17] == 0 && b[18] == 0 && b[19] == 0 && h.length <= hardMaxEntrySize
	return h, ok
}

// checksumOK reports whether rec (header and payload) matches its CRC.
func checksumOK(h header, rec []byte) bool {
	return crc32.Checksum(rec[8:], castagnoli) == h.crc
}

// recordSize is the on-disk size of a record with this header.
func (h header) recordSize() int64 { return headerSize + int64(h.length) }
