// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package blockdev puts a real kernel filesystem (ext4, xfs) on a loop device whose backing
// file lives in RAM (/dev/shm), for scenarios that need a filesystem to behave as on a disk:
// a power cut (copy the backing file: exactly what reached the "device") and a full disk.
//
// Everything here needs root and loop devices; Unavailable says plainly why they cannot be
// used, so that tests skip instead of passing. Only loop devices this package attached are ever
// detached: an Image remembers the device losetup gave it and touches no other.
package blockdev // import "github.com/comet-otel/comet/testbed/internal/blockdev"

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Filesystems the package can make.
const (
	Ext4 = "ext4"
	XFS  = "xfs"
)

// RAMDir is where backing files live: a tmpfs, so an image costs memory only for the blocks
// written, and "the device" is as fast as RAM.
const RAMDir = "/dev/shm"

// Unavailable returns why loop-mounted filesystems cannot be used here, or "" when they can:
// root, /dev/loop-control, losetup and a writable RAMDir are needed.
func Unavailable() string {
	if os.Geteuid() != 0 {
		return "needs root (loop devices and mounts)"
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		return fmt.Sprintf("no loop devices (%v)", err)
	}
	if _, err := exec.LookPath("losetup"); err != nil {
		return "losetup (util-linux) is not installed"
	}
	if st, err := os.Stat(RAMDir); err != nil || !st.IsDir() {
		return fmt.Sprintf("%s is not available for RAM-backed images", RAMDir)
	}
	return ""
}

// Unsupported returns why a filesystem of type fs cannot be made and mounted here, or "".
func Unsupported(fs string) string {
	mkfs := "mkfs." + fs
	if _, err := exec.LookPath(mkfs); err != nil {
		pkg := map[string]string{Ext4: "e2fsprogs", XFS: "xfsprogs"}[fs]
		return fmt.Sprintf("%s is not installed (apt-get install %s)", mkfs, pkg)
	}
	known, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return fmt.Sprintf("cannot read /proc/filesystems: %v", err)
	}
	for _, line := range strings.Split(string(known), "\n") {
		if strings.TrimSpace(strings.TrimPrefix(line, "nodev")) == fs {
			return ""
		}
	}
	// The module may just not be loaded yet; mount loads it on demand.
	if _, err := exec.LookPath("modprobe"); err == nil && exec.Command("modprobe", fs).Run() == nil {
		return ""
	}
	return fmt.Sprintf("the kernel does not support %s", fs)
}

// Image is a filesystem image in a file, attached to a loop device and mounted on demand.
// Its methods are not safe for concurrent use.
type Image struct {
	Path string // backing file
	FS   string // ext4 or xfs

	dev   string // /dev/loopN while attached by this Image
	mount string // mount point while mounted by this Image
}

// Create makes a sparse file of size bytes at path and a filesystem of type fs on it.
// ext4 is made without reserved blocks (root, which runs the tests, would otherwise see a
// different "full" than other users) and with its inode tables initialised at once, so that
// no background initialisation writes to the device later.
func Create(path, fs string, size int64) (*Image, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("blockdev: create image: %w", err)
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("blockdev: size image: %w", err)
	}
	var args []string
	switch fs {
	case Ext4:
		args = []string{"-q", "-F", "-m", "0", "-E", "lazy_itable_init=0,lazy_journal_init=0", path}
	case XFS:
		args = []string{"-q", "-f", path}
	default:
		_ = os.Remove(path)
		return nil, fmt.Errorf("blockdev: unknown filesystem %q", fs)
	}
	if out, err := exec.Command("mkfs."+fs, args...).CombinedOutput(); err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("blockdev: mkfs.%s: %w: %s", fs, err, strings.TrimSpace(string(out)))
	}
	return &Image{Path: path, FS: fs}, nil
}

// Open returns an Image over an existing image file (a snapshot), not attached.
func Open(path, fs string) *Image { return &Image{Path: path, FS: fs} }

// Device is the loop device while attached, "" otherwise.
func (im *Image) Device() string { return im.dev }

// Mountpoint is where the image is mounted, "" when it is not.
func (im *Image) Mountpoint() string { return im.mount }

// Attach binds the image to a free loop device.
func (im *Image) Attach() error {
	if im.dev != "" {
		return fmt.Errorf("blockdev: %s is already attached to %s", im.Path, im.dev)
	}
	out, err := exec.Command("losetup", "--find", "--show", im.Path).Output()
	if err != nil {
		return fmt.Errorf("blockdev: losetup %s: %w%s", im.Path, err, stderrOf(err))
	}
	dev := strings.TrimSpace(string(out))
	if !strings.HasPrefix(dev, "/dev/loop") {
		return fmt.Errorf("blockdev: losetup answered %q", dev)
	}
	im.dev = dev
	return nil
}

// Mount mounts the attached image on dir (which must exist). After a cut this is where the
// filesystem replays its journal, as the first mount after a power loss does.
func (im *Image) Mount(dir, options string) error {
	if im.dev == "" {
		return errors.New("blockdev: mount before attach")
	}
	if err := syscall.Mount(im.dev, dir, im.FS, 0, options); err != nil {
		return fmt.Errorf("blockdev: mount %s (%s) on %s: %w", im.dev, im.FS, dir, err)
	}
	im.mount = dir
	return nil
}

// Unmount unmounts the image, retrying for a few seconds while the filesystem is busy (a
// process that was just killed may still be releasing its files).
func (im *Image) Unmount() error {
	if im.mount == "" {
		return nil
	}
	var err error
	for range 50 {
		if err = syscall.Unmount(im.mount, 0); err == nil || errors.Is(err, syscall.EINVAL) {
			im.mount = ""
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("blockdev: unmount %s: %w", im.mount, err)
}

// Detach releases the loop device this Image attached.
func (im *Image) Detach() error {
	if im.dev == "" {
		return nil
	}
	var err error
	for range 50 {
		out, e := exec.Command("losetup", "--detach", im.dev).CombinedOutput()
		if e == nil {
			im.dev = ""
			return nil
		}
		err = fmt.Errorf("%w: %s", e, strings.TrimSpace(string(out)))
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("blockdev: losetup --detach %s: %w", im.dev, err)
}

// Close unmounts, detaches and deletes the backing file. It is safe to call more than once
// and after a partial failure; when the filesystem stays busy it is detached lazily
// (MNT_DETACH) so that the machine is never left with a mount of a deleted image.
func (im *Image) Close() error {
	var errs []error
	if err := im.Unmount(); err != nil {
		errs = append(errs, err)
		if lerr := syscall.Unmount(im.mount, syscall.MNT_DETACH); lerr == nil {
			im.mount = ""
		}
	}
	if err := im.Detach(); err != nil {
		errs = append(errs, err)
	}
	if err := os.Remove(im.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}
