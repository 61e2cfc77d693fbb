// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lockFileName is the writer lock in the data directory. Its name holds a
// '.', which no namespace can, so it never collides with a stream.
const lockFileName = "comet.lock"

// dirLock is the one-writer-per-directory guard: an OS file lock, released
// by the kernel if the process dies, plus the holder's PID for the error
// message of the next process that tries.
type dirLock struct{ f *os.File }

func acquireDirLock(dir string, mode os.FileMode) (*dirLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, mode)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	held, err := tryLockFile(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if held {
		holder := readLockHolder(f)
		_ = f.Close()
		return nil, fmt.Errorf("%w: lock file %s is held by process %s; run one writer per directory, or open readers with Concurrency.ReadOnly", ErrLocked, path, holder)
	}
	// The PID is informational: failing to write it does not weaken the lock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

func readLockHolder(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid := strings.TrimSpace(string(b[:n]))
	if _, err := strconv.Atoi(pid); err != nil {
		return "(unknown PID)"
	}
	return pid
}

func (l *dirLock) release() error {
	return l.f.Close()
}
