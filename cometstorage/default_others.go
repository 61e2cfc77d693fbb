// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !windows

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

func defaultDirectory() string { return "/var/lib/otelcol/comet_storage" }
