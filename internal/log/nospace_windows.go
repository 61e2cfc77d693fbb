// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build windows

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"

	"golang.org/x/sys/windows"
)

// isNoSpace reports whether err says the disk is full or the writer out of
// quota.
func isNoSpace(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL) ||
		errors.Is(err, windows.ERROR_DISK_QUOTA_EXCEEDED)
}
