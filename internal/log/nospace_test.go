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
	require.True(t, isNoSpace(wrapped))
	require.True(t, isNoSpace(fmt.Errorf("append: %w", wrapped)))
	require.True(t, isNoSpace(unix.EDQUOT))
	require.False(t, isNoSpace(unix.EIO))
	require.False(t, isNoSpace(unix.EFBIG), "a file size limit is not a full disk")
	require.False(t, isNoSpace(nil))
}
