// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !linux && !windows

package log // import "github.com/comet-otel/comet/internal/log"

import "os"

// lockedAgainstReading: flock does not stop reads.
func lockedAgainstReading(error) bool { return false }

// lockHeld cannot tell without taking the lock on this platform.
func lockHeld(os.FileInfo) LockHeld { return LockUnknown }
