// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// childEnv selects a child-process role when the test binary re-executes
// itself (crash tests); the value names the role.
const childEnv = "COMET_LOG_TEST_CHILD"

var childRoles = map[string]func() error{}

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		run, ok := childRoles[role]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown child role %q\n", role)
			os.Exit(2)
		}
		if err := run(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
