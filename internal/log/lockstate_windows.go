// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build windows

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockedAgainstReading reports a read refused because another process
// locked the range: the writer holds the lock.
func lockedAgainstReading(err error) bool { return errors.Is(err, windows.ERROR_LOCK_VIOLATION) }

// lockHeld: the lock file could be read, so no process locks its first byte.
func lockHeld(os.FileInfo) LockHeld { return LockFree }
