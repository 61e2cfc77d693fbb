// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// maxOffsetFileSize bounds what is read of a file that claims to be an
// offset file of an unknown group: one of a group name of up to about 64
// MiB. A larger file is not an offset file this engine wrote.
const maxOffsetFileSize = 64 << 20

// maxMetadataFileSize bounds every metadata file read, whatever limit the
// caller derives: no valid marker, index or offset file comes near it,
// and an allocation of it works on 32-bit systems too.
const maxMetadataFileSize = 256 << 20

// readSmallFile reads a whole metadata file (marker, index, offset file)
// that the directory may hold in any state: something other than a
// regular file (a FIFO would block the open, a device would never end)
// or a file larger than limit bytes is an error naming it, never a hang
// or an allocation the size of whatever was put there.
func readSmallFile(path string, limit int64) ([]byte, error) {
	// O_NONBLOCK makes opening a FIFO return at once; regular files
	// ignore it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, info.Mode().Type())
	}
	limit = min(limit, maxMetadataFileSize)
	if info.Size() > limit {
		return nil, fmt.Errorf("%s holds %d bytes, more than the %d a valid one can", path, info.Size(), limit)
	}
	b := make([]byte, info.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// isDirectory reports whether the entry e of dir is a directory, or a
// symbolic link to one (a namespace or shard kept on another disk).
func isDirectory(dir string, e os.DirEntry) bool {
	if e.Type()&os.ModeSymlink == 0 {
		return e.IsDir()
	}
	info, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && info.IsDir()
}
