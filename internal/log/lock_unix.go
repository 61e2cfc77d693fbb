// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// tryLockFile takes an exclusive advisory lock on f without waiting. The
// lock is released when f is closed or the process dies.
func tryLockFile(f *os.File) (held bool, err error) {
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			break
		}
	}
	if errors.Is(err, unix.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}

// lockFileShared takes a shared lock on f without waiting; it fails when
// someone holds an exclusive one.
func lockFileShared(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
		if err != unix.EINTR {
			return err
		}
	}
}
