// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package testfs // import "github.com/comet-otel/comet/internal/testfs"

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Tmpfs mounts a tmpfs of size ("256k", "1m") on a new directory in
// tb.TempDir() and returns its path; it is unmounted when the test ends.
// Where mounting is not allowed (not root), the test is skipped, saying
// why and, when otherwise is set, what covers the case instead.
func Tmpfs(tb testing.TB, size, otherwise string) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "small-disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		if otherwise != "" {
			tb.Skipf("mounting a tmpfs needs root (%v); %s", err, otherwise)
		}
		tb.Skipf("mounting a tmpfs needs root (%v)", err)
	}
	tb.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// Fill writes the file dir/filler until the filesystem holding dir is
// full (ENOSPC) and returns its path. It fails the test on any other
// error, or if 64 MiB did not fill it.
func Fill(tb testing.TB, dir string) string {
	tb.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for range 1 << 14 {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				tb.Fatalf("filling %s: %v", dir, err)
			}
			return path
		}
	}
	tb.Fatalf("%s did not fill with 64 MiB", dir)
	return ""
}
