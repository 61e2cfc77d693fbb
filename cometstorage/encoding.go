// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/comet-otel/comet/internal/log"
)

// Record payload layout (see the package documentation):
//
//	[0]     format version (1)
//	[1]     record kind: 1 = batch of operations
//	uvarint number of operations n (at least 1)
//	n times:
//	  [0]     operation: 1 = set, 2 = delete
//	  uvarint key length, key bytes
//	  set only: uvarint value length, value bytes
const (
	formatVersion byte = 1
	kindBatch     byte = 1
	opSet         byte = 1
	opDelete      byte = 2
)

// MaxKeySize is the longest key, in bytes, that Set accepts.
const MaxKeySize = 64 << 10

// maxRecordSize bounds the encoding of one Batch (all its writes); a batch
// larger than this fails with errBatchTooLarge and writes nothing.
const maxRecordSize = 256 << 20

var (
	errBadRecord     = errors.New("comet_storage: record is not a valid operation list")
	errBatchTooLarge = fmt.Errorf("comet_storage: the writes of one batch exceed %d bytes once encoded", maxRecordSize)
)

// newerPayloadError is a record whose payload format version is newer
// than this release reads. The engine's checksum held, so the byte is
// what a writer wrote: a newer release, not damage. It matches
// log.ErrNewerFormat.
type newerPayloadError struct{ found byte }

func (e *newerPayloadError) Error() string {
	return fmt.Sprintf("record of payload format version %d, newer than this release reads (version %d and older)", e.found, formatVersion)
}

func (e *newerPayloadError) Unwrap() error { return log.ErrNewerFormat }

// write is one operation of a record being encoded: the last write of a
// batch to its key.
type write struct {
	key   string
	value []byte // nil for a delete
	del   bool
	voff  uint32 // set by encodeRecord: offset of the value in the payload
}

// encodedSize is the size of the payload encodeRecord produces.
func encodedSize(ws []write) int {
	n := 2 + uvarintLen(uint64(len(ws)))
	for i := range ws {
		n += 1 + uvarintLen(uint64(len(ws[i].key))) + len(ws[i].key)
		if !ws[i].del {
			n += uvarintLen(uint64(len(ws[i].value))) + len(ws[i].value)
		}
	}
	return n
}

// encodeRecord appends the payload of a record holding ws to dst and
// stores each set's value offset in ws[i].voff. The caller checked the
// size against maxRecordSize, so offsets fit in uint32.
func encodeRecord(dst []byte, ws []write) []byte {
	start := len(dst)
	dst = append(dst, formatVersion, kindBatch)
	dst = binary.AppendUvarint(dst, uint64(len(ws)))
	for i := range ws {
		w := &ws[i]
		if w.del {
			dst = append(dst, opDelete)
		} else {
			dst = append(dst, opSet)
		}
		dst = binary.AppendUvarint(dst, uint64(len(w.key)))
		dst = append(dst, w.key...)
		if !w.del {
			dst = binary.AppendUvarint(dst, uint64(len(w.value)))
			w.voff = uint32(len(dst) - start)
			dst = append(dst, w.value...)
		}
	}
	return dst
}

// decodedOp is one operation found in a record. key and the value
// (payload[voff:voff+vlen]) alias the payload.
type decodedOp struct {
	del  bool
	key  []byte
	voff uint32
	vlen uint32
}

// parseRecord decodes a record payload into ops (appended to dst). It
// checks the whole payload, so a malformed record yields no operation.
func parseRecord(payload []byte, dst []decodedOp) ([]decodedOp, error) {
	if uint64(len(payload)) > math.MaxUint32 {
		return nil, fmt.Errorf("%w: %d bytes", errBadRecord, len(payload))
	}
	if len(payload) > 0 && payload[0] > formatVersion {
		return nil, &newerPayloadError{found: payload[0]}
	}
	if len(payload) < 3 || payload[0] != formatVersion || payload[1] != kindBatch {
		return nil, fmt.Errorf("%w: unknown version or kind", errBadRecord)
	}
	pos := 2
	n, ok := readUvarint(payload, &pos)
	if !ok || n == 0 || n > uint64(len(payload)) {
		return nil, fmt.Errorf("%w: bad operation count", errBadRecord)
	}
	for range n {
		if pos >= len(payload) {
			return nil, fmt.Errorf("%w: truncated", errBadRecord)
		}
		typ := payload[pos]
		pos++
		if typ != opSet && typ != opDelete {
			return nil, fmt.Errorf("%w: unknown operation %d", errBadRecord, typ)
		}
		klen, ok := readUvarint(payload, &pos)
		if !ok || klen == 0 || klen > MaxKeySize || klen > uint64(len(payload)-pos) {
			return nil, fmt.Errorf("%w: bad key length", errBadRecord)
		}
		op := decodedOp{del: typ == opDelete, key: payload[pos : pos+int(klen)]}
		pos += int(klen)
		if !op.del {
			vlen, ok := readUvarint(payload, &pos)
			if !ok || vlen > uint64(len(payload)-pos) {
				return nil, fmt.Errorf("%w: bad value length", errBadRecord)
			}
			op.voff, op.vlen = uint32(pos), uint32(vlen)
			pos += int(vlen)
		}
		dst = append(dst, op)
	}
	if pos != len(payload) {
		return nil, fmt.Errorf("%w: %d trailing bytes", errBadRecord, len(payload)-pos)
	}
	return dst, nil
}

// readUvarint reads a minimally encoded uvarint: every record has exactly
// one encoding.
func readUvarint(b []byte, pos *int) (uint64, bool) {
	v, n := binary.Uvarint(b[*pos:])
	if n <= 0 || n != uvarintLen(v) {
		return 0, false
	}
	*pos += n
	return v, true
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
