// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// lockFileName is the writer lock in the data directory. Its name holds a
// '.', which no namespace can, so it never collides with a stream.
const lockFileName = "comet.lock"

// dirLock is the one-writer-per-directory guard: an OS file lock, released
// by the kernel if the process dies, plus the holder's PID for the error
// message of the next process that tries.
type dirLock struct{ f *os.File }

// dirLockWait is how long a writer waits for the lock before it reports
// ErrLocked: a reader deleting consumed segments holds it for a moment
// (reclaim.go), and so does a writer that is stopping.
const dirLockWait = 2 * time.Second

// acquireDirLock takes the writer lock of dir for a writer, waiting up to
// dirLockWait, and writes the writer's PID in it.
func acquireDirLock(dir string, mode os.FileMode) (*dirLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, mode)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	if err := lockWaiting(f, dirLockWait); err != nil {
		holder := readLockHolder(f)
		_ = f.Close()
		if errors.Is(err, errLockHeld) {
			return nil, fmt.Errorf("%w: lock file %s is held by process %s; run one writer per directory, or open readers with Concurrency.ReadOnly", ErrLocked, path, holder)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// The PID is informational: failing to write it does not weaken the lock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

// lockRetryEvery spaces the attempts at a lock that someone holds for a
// moment.
const lockRetryEvery = 50 * time.Millisecond

// errLockHeld: another holder kept the lock for all of the wait.
var errLockHeld = errors.New("held by another process")

// lockWaiting takes f's exclusive lock, retrying up to wait while another
// holder has it (then errLockHeld).
func lockWaiting(f *os.File, wait time.Duration) error {
	return retryLock(wait, func() (busy bool, err error) {
		held, err := tryLockFile(f)
		if held {
			return true, errLockHeld
		}
		return false, err
	})
}

// lockSharedWaiting takes f's shared lock, retrying up to wait while an
// exclusive holder has it; it returns the last attempt's error.
func lockSharedWaiting(f *os.File, wait time.Duration) error {
	return retryLock(wait, func() (busy bool, err error) {
		err = lockFileShared(f)
		return err != nil, err
	})
}

// retryLock calls take until it is no longer busy or wait has passed, and
// returns its last error.
func retryLock(wait time.Duration, take func() (busy bool, err error)) error {
	deadline := time.Now().Add(wait)
	for {
		busy, err := take()
		if !busy || time.Now().After(deadline) {
			return err
		}
		time.Sleep(lockRetryEvery)
	}
}

// tryDirLock takes the writer lock of dir without waiting and without
// writing a PID, for a reader that deletes consumed segments while no
// writer runs. It returns nil, nil when someone holds it.
func tryDirLock(dir string) (*dirLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR, 0)
	if err != nil {
		return nil, err // no lock file: never written by a writer
	}
	held, err := tryLockFile(f)
	if err != nil || held {
		_ = f.Close()
		return nil, err
	}
	return &dirLock{f: f}, nil
}

func readLockHolder(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	first, _, _ := strings.Cut(string(b[:n]), "\n")
	pid := strings.TrimSpace(first)
	if _, err := strconv.Atoi(pid); err != nil {
		return "(unknown PID)"
	}
	return pid
}

func (l *dirLock) release() error {
	return l.f.Close()
}
