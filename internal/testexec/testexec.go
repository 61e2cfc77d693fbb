// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package testexec starts the running test binary again as a child process
// (for crash and cross-process tests), through the same emulator when the
// tests run under one: `go test -exec scripts/qemu-exec.sh` with
// COMET_TEST_EMULATOR=qemu-aarch64-static runs an arm64 test binary on an
// amd64 host, and its children must go through qemu too.
package testexec // import "github.com/comet-otel/comet/internal/testexec"

import (
	"os"
	"os/exec"
)

// EmulatorEnv names the environment variable that holds the emulator the
// test binary runs under (empty: native).
const EmulatorEnv = "COMET_TEST_EMULATOR"

// Command returns the command that runs the test binary with args, through
// the emulator when there is one. The child inherits the environment,
// EmulatorEnv included.
func Command(args ...string) *exec.Cmd { return Binary(os.Args[0], args...) }

// Binary is Command for a copy of the test binary at path.
func Binary(path string, args ...string) *exec.Cmd {
	if emulator := os.Getenv(EmulatorEnv); emulator != "" {
		return exec.Command(emulator, append([]string{path}, args...)...)
	}
	return exec.Command(path, args...)
}
