// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// LockHeld says whether a directory's writer lock is held.
type LockHeld int

const (
	// LockUnknown: the platform offers no way to tell without taking the
	// lock (everywhere but Linux and Windows).
	LockUnknown LockHeld = iota
	// LockFree: no process holds the lock.
	LockFree
	// LockTaken: a live process holds the lock.
	LockTaken
)

// String returns "unknown", "free" or "held".
func (h LockHeld) String() string {
	switch h {
	case LockFree:
		return "free"
	case LockTaken:
		return "held"
	}
	return "unknown"
}

// LockState is what can be told about a directory's writer lock without
// taking it (taking it, even briefly, could make a collector starting at
// that moment fail).
type LockState struct {
	Path   string // the lock file, DIR/comet.lock
	Exists bool   // the lock file exists: some writer opened the directory once
	// PID is the process that last took the lock, as it wrote it in the
	// file; 0 when the file holds none.
	PID  int
	Held LockHeld
}

// InspectLock reports the state of dir's writer lock. It only reads: the
// lock file and, on Linux, /proc/locks. On Windows the lock covers the
// file's first byte, so a lock file that cannot be read because of it is
// held (and its PID cannot be read), and one that can be read is free.
func InspectLock(dir string) (LockState, error) {
	return inspectLockFile(filepath.Join(dir, lockFileName))
}

// SlotState is the state of one writer slot of a directory written in
// multi-process mode.
type SlotState struct {
	Slot int
	LockState
}

// InspectSlots reports the writer slots of dir (none unless writers used
// multi-process mode), in slot order, reading only, as InspectLock does.
func InspectSlots(dir string) ([]SlotState, error) {
	entries, err := os.ReadDir(filepath.Join(dir, slotsDirName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []SlotState
	for _, e := range entries {
		k, ok := strings.CutPrefix(e.Name(), "slot-")
		if !ok {
			continue
		}
		slot, err := strconv.Atoi(strings.TrimSuffix(k, ".lock"))
		if err != nil || !strings.HasSuffix(k, ".lock") {
			continue
		}
		st, err := inspectLockFile(filepath.Join(dir, slotsDirName, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, SlotState{Slot: slot, LockState: st})
	}
	slices.SortFunc(out, func(a, b SlotState) int { return a.Slot - b.Slot })
	return out, nil
}

// inspectLockFile reports the state of one lock file (see InspectLock).
func inspectLockFile(path string) (LockState, error) {
	st := LockState{Path: path}
	b, err := os.ReadFile(st.Path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		st.Held = LockFree
		return st, nil
	case err != nil && lockedAgainstReading(err):
		st.Exists, st.Held = true, LockTaken
		return st, nil
	case err != nil:
		return st, err
	}
	st.Exists = true
	first, _, _ := strings.Cut(string(b), "\n") // a slot file holds more after its PID line
	if pid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && pid > 0 {
		st.PID = pid
	}
	info, err := os.Stat(st.Path)
	if err != nil {
		return st, err
	}
	st.Held = lockHeld(info)
	return st, nil
}
