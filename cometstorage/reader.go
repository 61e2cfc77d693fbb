// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"

	"github.com/comet-otel/comet/internal/log"
)

// recordReader reads records straight from segment files through one
// read-only descriptor per segment, kept open until the client deletes the
// segment or closes.
//
// It exists because the engine's ReadAt opens and closes the segment file
// on every call unless a consumer happens to hold it, which triples the
// system calls of a Get. It relies only on the engine's documented
// on-disk format (internal/log package documentation): the stream's
// directory kv/v1/shard-0000, segment files log-<16 digits>.comet, and
// records of a 20-byte header (length, CRC-32C of the rest, timestamp,
// flags, reserved) followed by the payload. Anything it does not expect —
// a compressed record, a header or checksum that does not match — sends
// the read to the engine's ReadAt, which reports the damage properly.
type recordReader struct {
	dir string // the stream's shard directory

	mu    sync.RWMutex // read-locked around reads, locked to open and close
	files map[int64]*os.File
}

const (
	recordHeaderSize = 20
	recordCodecMask  = 0x03
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func newRecordReader(clientDir string) *recordReader {
	return &recordReader{dir: filepath.Join(clientDir, "kv", "v1", "shard-0000"), files: map[int64]*os.File{}}
}

// payload returns the payload of the record at loc in seg, or ok false
// when the engine must read it instead.
func (r *recordReader) payload(seg *segment, loc log.Location) (_ []byte, ok bool) {
	f := r.file(seg)
	if f == nil || loc.Size < recordHeaderSize {
		return nil, false
	}
	rec := make([]byte, loc.Size)
	r.mu.RLock()
	_, err := f.ReadAt(rec, loc.Offset)
	r.mu.RUnlock()
	if err != nil {
		return nil, false
	}
	length := binary.LittleEndian.Uint32(rec[0:4])
	sum := binary.LittleEndian.Uint32(rec[4:8])
	if int64(length) != loc.Size-recordHeaderSize || rec[16]&recordCodecMask != 0 ||
		rec[17] != 0 || rec[18] != 0 || rec[19] != 0 || crc32.Checksum(rec[8:], castagnoli) != sum {
		return nil, false
	}
	return rec[recordHeaderSize:], true
}

// maxOpenSegments bounds the descriptors kept open; beyond it one is
// closed to make room (reads mostly hit the newest and the oldest).
const maxOpenSegments = 32

// file returns the open descriptor of seg, opening it once. A segment
// being deleted is never opened again: its space must be freed.
func (r *recordReader) file(seg *segment) *os.File {
	r.mu.RLock()
	f, ok := r.files[seg.base]
	r.mu.RUnlock()
	if ok {
		return f
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.files == nil || seg.deleting.Load() {
		return nil
	}
	if f, ok := r.files[seg.base]; ok {
		return f
	}
	if len(r.files) >= maxOpenSegments {
		for base, f := range r.files {
			_ = f.Close()
			delete(r.files, base)
			break
		}
	}
	f, err := os.Open(filepath.Join(r.dir, fmt.Sprintf("log-%016d.comet", seg.base)))
	if err != nil {
		return nil
	}
	r.files[seg.base] = f
	return f
}

// forget closes the descriptor of a segment about to be deleted (marked
// deleting before), after reads in progress finish.
func (r *recordReader) forget(base int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.files[base]; ok {
		_ = f.Close() // read-only descriptor: nothing to flush
		delete(r.files, base)
	}
}

// close closes every descriptor; later reads go to the engine.
func (r *recordReader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.files {
		_ = f.Close()
	}
	r.files = nil
}
