// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build windows

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"encoding/binary"
	"os"
)

// fileCell is a slot's figure, read and written in the slot file.
type fileCell struct {
	f     *os.File
	owned bool
}

// openUsageCell opens f's figure; the cell closes f when ownsFile.
func openUsageCell(f *os.File, ownsFile bool) (usageCell, error) {
	return &fileCell{f: f, owned: ownsFile}, nil
}

func (c *fileCell) store(v int64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(v))
	_, _ = c.f.WriteAt(b[:], usageOffset) // a failure leaves the others an older figure
}

func (c *fileCell) load() int64 {
	var b [8]byte
	if n, _ := c.f.ReadAt(b[:], usageOffset); n < len(b) {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(b[:]))
}

func (c *fileCell) close() {
	if c.owned {
		_ = c.f.Close()
	}
}
