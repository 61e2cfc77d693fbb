// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package testfs gives tests a filesystem that fills up: a small tmpfs
// (Linux, as root), and a file that takes what is left on it.
package testfs // import "github.com/comet-otel/comet/internal/testfs"
