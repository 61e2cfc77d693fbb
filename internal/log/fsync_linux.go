// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build linux

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync flushes f's data and the metadata needed to read it back
// (its size) to stable storage.
func datasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
