// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package log // import "github.com/comet-otel/comet/internal/log"

import "os"

// lockHeld cannot tell without taking the lock on this platform.
func lockHeld(os.FileInfo) LockHeld { return LockUnknown }
