// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestProcess_Freeze_StopsEveryThread(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	p, err := Start(Command{Bin: sleep, Args: []string{"30"}, LogPath: filepath.Join(t.TempDir(), "log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Kill() })
	if err := p.Freeze(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	running, err := runningThreads(p.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if len(running) != 0 {
		t.Fatalf("threads still running after Freeze: %v", running)
	}
	if err := p.Kill(); err != nil {
		t.Fatalf("a frozen process must still die on SIGKILL: %v", err)
	}
}

func TestProcState_CommandWithSpacesAndParentheses(t *testing.T) {
	for stat, want := range map[string]byte{
		"42 (otelcol-comet) S 1 42": 'S',
		"42 (a (b) c) T 1 42":       'T',
		"7 (x) t 0":                 't',
	} {
		got, err := procState(stat)
		if err != nil || got != want {
			t.Errorf("procState(%q) = %c, %v; want %c", stat, got, err, want)
		}
	}
	if _, err := procState("garbage"); err == nil {
		t.Error("procState accepted a line without a command name")
	}
}
