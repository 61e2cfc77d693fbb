// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package blockdev // import "github.com/comet-otel/comet/testbed/internal/blockdev"

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Background writeback is what makes a power-loss test lenient: left alone, the kernel writes
// dirty pages to the device after vm.dirty_expire_centisecs (30 s) or once they pass
// vm.dirty_background_ratio of memory, and the cut then finds data on the device that no fsync
// put there. HoldWriteback turns that off for the duration of a test, so that the device
// holds what the filesystem wrote because it had to (fsync, fdatasync, journal commits) and
// nothing more: the worst moment for a power cut.
//
// The settings are global to the machine. They are changed under a lock file, the originals
// are saved in a state file first, and a run that died before restoring them is repaired by
// the next HoldWriteback (or by hand: see RestoreStaleWriteback).
const (
	sysctlDir          = "/proc/sys/vm"
	writebackLockPath  = "/run/comet-testbed-writeback.lock"
	writebackStatePath = "/run/comet-testbed-writeback.saved"
)

// heldWriteback are the values set while writeback is held: the flusher thread never wakes on
// its own (dirty_writeback_centisecs 0), dirty data never expires within a test (one hour),
// and neither the background nor the blocking threshold is reached by a test's few hundred
// MiB. The byte variants are cleared by the kernel when a ratio is written.
var heldWriteback = []sysctl{
	{"dirty_writeback_centisecs", "0"},
	{"dirty_expire_centisecs", "360000"},
	{"dirty_ratio", "80"},
	{"dirty_background_ratio", "50"},
}

// savedKnobs are the settings saved and restored. A ratio and its byte variant are exclusive
// (writing one zeroes the other), so the one in use is restored last.
var savedKnobs = []string{
	"dirty_writeback_centisecs", "dirty_expire_centisecs",
	"dirty_background_ratio", "dirty_background_bytes",
	"dirty_ratio", "dirty_bytes",
}

type sysctl struct{ Name, Value string }

// Hold is background writeback held off; Release gives the settings back.
type Hold struct {
	lock  *os.File
	saved []sysctl // the settings before the hold
}

// HoldWriteback holds background writeback off until Release. Only one process holds it at a
// time (two suites would fight over the settings): it waits up to wait for another holder to
// finish, then fails.
func HoldWriteback(wait time.Duration) (*Hold, error) {
	lock, err := os.OpenFile(writebackLockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("blockdev: writeback lock: %w", err)
	}
	if err := lockWithin(lock, wait); err != nil {
		_ = lock.Close()
		return nil, err
	}
	fail := func(err error) (*Hold, error) {
		return nil, errors.Join(err, lock.Close())
	}
	if err := RestoreStaleWriteback(); err != nil {
		return fail(err)
	}
	saved, err := readSysctls(savedKnobs)
	if err != nil {
		return fail(err)
	}
	if err := writeState(saved); err != nil {
		return fail(err)
	}
	if err := writeSysctls(heldWriteback); err != nil {
		return fail(errors.Join(err, restoreFrom(saved)))
	}
	return &Hold{lock: lock, saved: saved}, nil
}

// Release restores the settings saved by HoldWriteback and lets the next holder in.
func (h *Hold) Release() error {
	err := restoreFrom(h.saved)
	if err == nil {
		err = os.Remove(writebackStatePath)
	}
	return errors.Join(err, h.lock.Close())
}

// RestoreStaleWriteback puts back the settings a run saved and could not restore (it was
// killed). It does nothing when no such run left its state file. Callers must hold the lock,
// or know that no test runs.
func RestoreStaleWriteback() error {
	b, err := os.ReadFile(writebackStatePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("blockdev: %w", err)
	}
	var saved []sysctl
	if err := json.Unmarshal(b, &saved); err != nil {
		return fmt.Errorf("blockdev: %s is damaged (%v); restore the vm.dirty_* sysctls by hand and delete it", writebackStatePath, err)
	}
	if err := restoreFrom(saved); err != nil {
		return err
	}
	return os.Remove(writebackStatePath)
}

// lockWithin takes an exclusive lock on f, polling until wait has passed.
func lockWithin(f *os.File, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			return fmt.Errorf("blockdev: another test has held the kernel's writeback settings (%s) for %v: %w", writebackLockPath, wait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writeState(saved []sysctl) error {
	b, err := json.Marshal(saved)
	if err != nil {
		return err
	}
	tmp := writebackStatePath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("blockdev: save writeback settings: %w", err)
	}
	return os.Rename(tmp, writebackStatePath)
}

// restoreFrom writes the saved settings back, each ratio/bytes pair with the member in use
// (the non-zero one) last.
func restoreFrom(saved []sysctl) error {
	values := map[string]string{}
	for _, s := range saved {
		values[s.Name] = s.Value
	}
	var order []sysctl
	for _, name := range []string{"dirty_writeback_centisecs", "dirty_expire_centisecs"} {
		order = append(order, sysctl{name, values[name]})
	}
	for _, pair := range [][2]string{{"dirty_background_ratio", "dirty_background_bytes"}, {"dirty_ratio", "dirty_bytes"}} {
		ratio, bytes := pair[0], pair[1]
		if values[bytes] != "" && values[bytes] != "0" {
			order = append(order, sysctl{bytes, values[bytes]})
		} else {
			order = append(order, sysctl{ratio, values[ratio]})
		}
	}
	return writeSysctls(order)
}

func readSysctls(names []string) ([]sysctl, error) {
	out := make([]sysctl, 0, len(names))
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(sysctlDir, name))
		if err != nil {
			return nil, fmt.Errorf("blockdev: read vm.%s: %w", name, err)
		}
		v := strings.TrimSpace(string(b))
		if _, err := strconv.ParseUint(v, 10, 64); err != nil {
			return nil, fmt.Errorf("blockdev: vm.%s = %q", name, v)
		}
		out = append(out, sysctl{name, v})
	}
	return out, nil
}

func writeSysctls(values []sysctl) error {
	var errs []error
	for _, s := range values {
		if s.Value == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(sysctlDir, s.Name), []byte(s.Value+"\n"), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("blockdev: set vm.%s=%s: %w", s.Name, s.Value, err))
		}
	}
	return errors.Join(errs...)
}
