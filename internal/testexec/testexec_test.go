// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package testexec

import (
	"os"
	"testing"
)

func TestCommand_RunsTheTestBinaryThroughTheEmulator(t *testing.T) {
	t.Setenv(EmulatorEnv, "")
	native := Command("-test.run=^$")
	if native.Path != os.Args[0] && native.Args[0] != os.Args[0] {
		t.Fatalf("native: %v", native.Args)
	}
	t.Setenv(EmulatorEnv, "qemu-aarch64-static")
	emulated := Command("-test.run=^$")
	if len(emulated.Args) != 3 || emulated.Args[0] != "qemu-aarch64-static" || emulated.Args[1] != os.Args[0] || emulated.Args[2] != "-test.run=^$" {
		t.Fatalf("emulated: %v", emulated.Args)
	}
}
