// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build windows

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import (
	"os"
	"path/filepath"
)

func defaultDirectory() string {
	return filepath.Join(os.Getenv("ProgramData"), "Otelcol", "CometStorage")
}
