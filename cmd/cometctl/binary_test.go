// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBinary builds cometctl with go build and runs it as an operator
// would: exit statuses, and an export piped into an import through stdin.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH to build the binary with")
	}
	bin := filepath.Join(t.TempDir(), "cometctl")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command(goTool, "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	runBin := func(stdin []byte, args ...string) (int, string, string) {
		cmd := exec.Command(bin, args...)
		cmd.Stdin = bytes.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), stdout.String(), stderr.String()
		}
		require.NoError(t, err)
		return 0, stdout.String(), stderr.String()
	}

	code, _, stderr := runBin(nil)
	require.Equal(t, exitError, code)
	require.Contains(t, stderr, "Usage:")

	dir, _ := logsDir(t, 20, 2, 300)
	code, stdout, _ := runBin(nil, "inspect", dir)
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, "logs:v1 (4 shards)")
	code, stdout, _ = runBin(nil, "verify", dir)
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, "verify: OK")

	code, dump, _ := runBin(nil, "export", dir, "--stream", "logs", "--format", "proto")
	require.Equal(t, exitOK, code)
	copyDir := filepath.Join(t.TempDir(), "copy")
	code, stdout, stderr = runBin([]byte(dump), "import", copyDir, "-", "--stream", "logs")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "appended 20 records (40 log records")
	code, again, _ := runBin(nil, "export", copyDir, "--stream", "logs", "--format", "proto")
	require.Equal(t, exitOK, code)
	require.Equal(t, dump, again)

	partial := filepath.Join(t.TempDir(), "partial")
	code, _, stderr = runBin(append([]byte(dump), 0, 0, 9), "import", partial, "-", "--stream", "logs")
	require.Equal(t, exitError, code)
	require.Contains(t, stderr, "the file ends inside a record's 4-byte length; 20 records were appended before it",
		"from stdin, what came before a bad record stays appended, and the count says so")

	damaged, _ := damagedDir(t)
	code, stdout, _ = runBin(nil, "verify", damaged, "--quiet")
	require.Equal(t, exitDamage, code)
	require.Contains(t, stdout, "verify: DAMAGED")
	code, _, stderr = runBin(nil, "inspect", filepath.Join(damaged, "missing"))
	require.Equal(t, exitError, code)
	require.Contains(t, stderr, "does not exist")
}
