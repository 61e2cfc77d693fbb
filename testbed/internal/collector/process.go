// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package collector // import "github.com/comet-otel/comet/testbed/internal/collector"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is one run of a collector binary. Its output is appended to LogPath, so the log of
// every restart of one scenario reads as one file.
type Process struct {
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}

	mu      sync.Mutex
	waitErr error
}

// Command is what to start.
type Command struct {
	Bin     string
	Args    []string
	Dir     string   // working directory; empty: the caller's
	Env     []string // added to the caller's environment
	LogPath string   // stdout and stderr are appended here
}

// Start launches c.Bin with c.Args, appending its stdout and stderr to c.LogPath.
func Start(c Command) (*Process, error) {
	bin, args, logPath := c.Bin, c.Args, c.LogPath
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("collector log: %w", err)
	}
	fmt.Fprintf(logFile, "\n===== %s start: %s %s\n", time.Now().Format(time.RFC3339Nano), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Dir = c.Dir
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Process{logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		_ = logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the operating system's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitErr is the error from waiting for the process: nil after a clean exit. Valid once
// Exited.
func (p *Process) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// WaitHTTPOK polls url until it answers 200, the process exits, or ctx is done.
func (p *Process) WaitHTTPOK(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("collector exited before it was ready (%v); log tail:\n%s", p.ExitErr(), p.LogTail(30))
		case <-ctx.Done():
			return fmt.Errorf("collector not ready at %s: %w; log tail:\n%s", url, ctx.Err(), p.LogTail(30))
		case <-tick.C:
		}
	}
}

// Stop sends SIGTERM and waits up to timeout for a graceful exit; past it the process is
// killed and an error returned. A non-zero exit status is an error too.
func (p *Process) Stop(timeout time.Duration) error {
	if p.Exited() {
		return p.exitResult()
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGTERM: %w", err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.exitResult()
	case <-t.C:
		_ = p.Kill()
		return fmt.Errorf("collector did not stop within %v after SIGTERM; killed. log tail:\n%s", timeout, p.LogTail(30))
	}
}

func (p *Process) exitResult() error {
	if err := p.ExitErr(); err != nil {
		return fmt.Errorf("collector exited with %v; log tail:\n%s", err, p.LogTail(30))
	}
	return nil
}

// Kill sends SIGKILL (kill -9) and waits for the process to be reaped.
func (p *Process) Kill() error {
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGKILL: %w", err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("process not reaped 10s after SIGKILL")
	}
}

// LogTail returns the last n lines of the process log.
func (p *Process) LogTail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.logPath, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
