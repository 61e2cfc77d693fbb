// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package log

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// mkfifo creates a named pipe.
func mkfifo(t *testing.T, path string) {
	t.Helper()
	require.NoError(t, unix.Mkfifo(path, 0o600))
}
