// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !linux && !darwin

package log // import "github.com/comet-otel/comet/internal/log"

import "os"

// datasync flushes f to stable storage.
func datasync(f *os.File) error { return f.Sync() }
