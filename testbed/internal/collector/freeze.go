// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package collector // import "github.com/comet-otel/comet/testbed/internal/collector"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Freeze stops the process with SIGSTOP and waits until every one of its threads is stopped,
// bounded by timeout.
//
// A thread inside a system call (an fsync, a write) finishes it before it stops, so the wait
// is what makes "frozen" mean "no I/O of this process in flight": whatever the process had
// acknowledged to a client was acknowledged after a system call that has returned, and
// nothing more will reach the disk from it.
func (p *Process) Freeze(timeout time.Duration) error {
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return fmt.Errorf("SIGSTOP: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		running, err := runningThreads(p.Pid())
		if err != nil {
			return err
		}
		if len(running) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("threads %s of process %d still running %v after SIGSTOP", strings.Join(running, ", "), p.Pid(), timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// runningThreads lists the threads of pid that are not stopped (state T or t in
// /proc/<pid>/task/<tid>/stat). Threads that exit meanwhile are skipped.
func runningThreads(pid int) ([]string, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil, fmt.Errorf("threads of %d: %w", pid, err)
	}
	var running []string
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "task", task.Name(), "stat"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		state, err := procState(string(b))
		if err != nil {
			return nil, err
		}
		if state != 'T' && state != 't' {
			running = append(running, fmt.Sprintf("%s(%c)", task.Name(), state))
		}
	}
	return running, nil
}

// procState returns the state letter of a /proc stat line (the field after the command name,
// which is in parentheses and may hold spaces).
func procState(stat string) (byte, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 || end+2 >= len(stat) {
		return 0, fmt.Errorf("malformed /proc stat %q", stat)
	}
	return stat[end+2], nil
}
