// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package log

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestIsNoSpace_FullDiskAndQuotaOnly(t *testing.T) {
	wrapped := &os.PathError{Op: "write", Path: "log-0000000000000000.comet", Err: unix.ENOSPC}
	require.True(t, IsNoSpace(wrapped))
	require.True(t, IsNoSpace(fmt.Errorf("append: %w", wrapped)))
	require.True(t, IsNoSpace(unix.EDQUOT))
	require.False(t, IsNoSpace(unix.EIO))
	require.False(t, IsNoSpace(unix.EFBIG), "a file size limit is not a full disk")
	require.False(t, IsNoSpace(nil))
}
