// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build windows

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"

	"golang.org/x/sys/windows"
)

// IsNoSpace reports whether err says the disk is full or the writer out of
// quota (ERROR_DISK_FULL, ERROR_HANDLE_DISK_FULL, ERROR_DISK_QUOTA_EXCEEDED):
// what Append wraps in ErrNoSpace, for callers that write files of their own
// beside a log.
func IsNoSpace(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL) ||
		errors.Is(err, windows.ERROR_DISK_QUOTA_EXCEEDED)
}
