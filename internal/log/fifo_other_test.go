// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package log

import "testing"

// mkfifo skips: named pipes do not live in the filesystem here.
func mkfifo(t *testing.T, _ string) {
	t.Helper()
	t.Skip("no named pipes in the filesystem on this system")
}
