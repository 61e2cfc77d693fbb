// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build windows

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import "golang.org/x/sys/windows"

// freeBytes returns the bytes the calling user may still write on the
// volume holding path.
func freeBytes(path string) (int64, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, err
	}
	var avail, total, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &totalFree); err != nil {
		return 0, err
	}
	return int64(avail), nil
}
