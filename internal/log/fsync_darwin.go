// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build darwin

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync flushes f to stable storage. On macOS fsync only reaches the
// drive's cache; F_FULLFSYNC asks the drive to persist it.
func datasync(f *os.File) error {
	if _, err := unix.FcntlInt(f.Fd(), unix.F_FULLFSYNC, 0); err == nil {
		return nil
	}
	return f.Sync()
}
