// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mappedCell is a slot's figure in the slot file mapped shared: a store is
// seen by every process that maps the file, without a system call.
type mappedCell struct {
	f     *os.File // closed with the cell when the cell owns it
	owned bool
	mem   []byte
	v     *atomic.Int64
}

// openUsageCell maps f's figure; the cell closes f when ownsFile.
func openUsageCell(f *os.File, ownsFile bool) (usageCell, error) {
	if info, err := f.Stat(); err != nil {
		return nil, err
	} else if info.Size() < usageFileSize {
		if err := f.Truncate(usageFileSize); err != nil {
			return nil, err
		}
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, usageFileSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	// The mapping is page-aligned, so the figure at usageOffset is 8-byte
	// aligned, as 64-bit atomics need on 32-bit platforms. Little-endian
	// platforms store it as the file format says; on big-endian ones the
	// writers of a directory agree with one another, which is all it is for.
	return &mappedCell{f: f, owned: ownsFile, mem: mem, v: (*atomic.Int64)(unsafe.Pointer(&mem[usageOffset]))}, nil
}

func (m *mappedCell) store(v int64) { m.v.Store(v) }
func (m *mappedCell) load() int64   { return m.v.Load() }

func (m *mappedCell) close() {
	_ = unix.Munmap(m.mem)
	if m.owned {
		_ = m.f.Close()
	}
}
