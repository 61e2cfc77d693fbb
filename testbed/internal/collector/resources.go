// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package collector // import "github.com/comet-otel/comet/testbed/internal/collector"

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat. Linux fixes USER_HZ at 100 on
// every architecture the testbed runs on.
const userHZ = 100

// Usage is a resource sample of a running process.
type Usage struct {
	CPUSeconds float64 // utime + stime since the process started
	PeakRSS    int64   // VmHWM, bytes: the high-water mark of resident memory
	RSS        int64   // VmRSS, bytes
}

// Sample reads the process's CPU time and memory from /proc. It fails once the process has
// exited, so sample before stopping it.
func (p *Process) Sample() (Usage, error) {
	return sampleProc(p.Pid())
}

func sampleProc(pid int) (Usage, error) {
	var u Usage
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, fmt.Errorf("sample: %w", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces: split after it.
	s := string(stat)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return u, errors.New("sample: malformed /proc stat")
	}
	fields := strings.Fields(s[end+1:])
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return u, errors.New("sample: short /proc stat")
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return u, fmt.Errorf("sample: %w", err)
	}
	u.CPUSeconds = float64(utime+stime) / userHZ

	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, fmt.Errorf("sample: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmHWM" && key != "VmRSS") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return u, fmt.Errorf("sample: %s: %w", key, err)
		}
		if key == "VmHWM" {
			u.PeakRSS = kb << 10
		} else {
			u.RSS = kb << 10
		}
	}
	return u, sc.Err()
}

// DiskUsage is the space taken by the files under a directory.
type DiskUsage struct {
	Apparent  int64 // sum of file sizes
	Allocated int64 // sum of allocated blocks (what du reports)
	Files     int
}

// DirUsage walks dir and sums its regular files. Files removed during the walk (retention at
// work) are skipped; a missing dir is zero usage.
func DirUsage(dir string) (DiskUsage, error) {
	var u DiskUsage
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		u.Files++
		u.Apparent += info.Size()
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			u.Allocated += st.Blocks * 512
		}
		return nil
	})
	return u, err
}

// FreePorts asks the OS for n distinct free TCP ports on 127.0.0.1. They are released before
// return, so a collector started right after can bind them.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		// Hold every listener until all are chosen so that the OS cannot hand out one twice.
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// DeletedOpenBytes sums the sizes of files under dir that the process still holds open
// although they were deleted: their space stays in use until the last descriptor closes, and
// a directory walk does not see them.
func DeletedOpenBytes(pid int, dir string) (int64, error) {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		return 0, fmt.Errorf("open files: %w", err)
	}
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	var total int64
	for _, e := range entries {
		link := filepath.Join(fdDir, e.Name())
		target, err := os.Readlink(link)
		if err != nil {
			continue // closed meanwhile
		}
		path, deleted := strings.CutSuffix(target, " (deleted)")
		if !deleted || !strings.HasPrefix(path, prefix) {
			continue
		}
		if info, err := os.Stat(link); err == nil { // follows the descriptor, even to a deleted file
			total += info.Size()
		}
	}
	return total, nil
}
