// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import "golang.org/x/sys/unix"

// freeBytes returns the bytes an unprivileged process may still write on
// the filesystem holding path.
func freeBytes(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
