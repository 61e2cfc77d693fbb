// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// lockedAgainstReading: flock does not stop reads.
func lockedAgainstReading(error) bool { return false }

// lockHeld looks the lock file up in /proc/locks, which lists every file
// lock of the system by device and inode ("1: FLOCK ADVISORY WRITE 1234
// fe:00:9978193 0 EOF"; lines with "->" are waiters, not holders).
func lockHeld(info os.FileInfo) LockHeld {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return LockUnknown
	}
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		return LockUnknown
	}
	dev := uint64(st.Dev) // uint32 on some architectures
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(dev), unix.Minor(dev), st.Ino)
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 6 || fields[1] == "->" {
			continue
		}
		if fields[5] == want {
			return LockTaken
		}
	}
	return LockFree
}
