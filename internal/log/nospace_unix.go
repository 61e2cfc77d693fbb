// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"errors"

	"golang.org/x/sys/unix"
)

// IsNoSpace reports whether err says the filesystem is out of space or the
// writer out of quota (ENOSPC, EDQUOT): what Append wraps in ErrNoSpace, for
// callers that write files of their own beside a log.
func IsNoSpace(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT)
}
