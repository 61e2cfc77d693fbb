// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package blockdev // import "github.com/comet-otel/comet/testbed/internal/blockdev"

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// SnapshotInfo describes one cut.
type SnapshotInfo struct {
	Bytes    int64         // data bytes copied (holes are kept as holes)
	Attempts int           // copies made until one saw a quiet device
	Took     time.Duration // wall time of the successful copy
}

// maxSnapshotAttempts bounds the retries while the kernel keeps writing to the device.
const maxSnapshotAttempts = 50

// Snapshot copies the backing file of the attached image to dst: the cut. Only what reached
// the device is in the backing file; what sits in the filesystem's page cache is not, which
// is what a power loss keeps and loses.
//
// The copy is not atomic by itself, so it is taken while the device is quiet: no write in
// flight before, none completed or in flight after (the loop device's counters in
// /sys/block/loopN/stat). A write the kernel issues during the copy (a periodic journal
// commit) makes it start again, up to maxSnapshotAttempts times. The caller must already
// have stopped the writers it controls (the collector, frozen with SIGSTOP).
func (im *Image) Snapshot(dst string) (SnapshotInfo, error) {
	if im.dev == "" {
		return SnapshotInfo{}, errors.New("blockdev: snapshot of an image that is not attached")
	}
	statPath := filepath.Join("/sys/block", filepath.Base(im.dev), "stat")
	for attempt := 1; attempt <= maxSnapshotAttempts; attempt++ {
		before, err := readDevStat(statPath)
		if err != nil {
			return SnapshotInfo{}, err
		}
		if before.inFlight != 0 {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		began := time.Now()
		n, err := copySparse(im.Path, dst)
		if err != nil {
			return SnapshotInfo{}, err
		}
		took := time.Since(began)
		after, err := readDevStat(statPath)
		if err != nil {
			return SnapshotInfo{}, err
		}
		if after == before {
			return SnapshotInfo{Bytes: n, Attempts: attempt, Took: took}, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return SnapshotInfo{}, fmt.Errorf("blockdev: %s kept writing during %d copies; no consistent cut", im.dev, maxSnapshotAttempts)
}

// devStat is the part of /sys/block/<dev>/stat that says whether the device wrote.
type devStat struct {
	writes   uint64 // write requests completed
	flushes  uint64 // flush requests completed (0 on kernels that do not report them)
	inFlight uint64 // requests in flight
}

// readDevStat parses /sys/block/<dev>/stat (Documentation/block/stat.rst): field 5 is write
// I/Os completed, field 9 the requests in flight, field 16 flush I/Os completed.
func readDevStat(path string) (devStat, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return devStat{}, fmt.Errorf("blockdev: %w", err)
	}
	return parseDevStat(string(b))
}

func parseDevStat(s string) (devStat, error) {
	f := strings.Fields(s)
	if len(f) < 11 {
		return devStat{}, fmt.Errorf("blockdev: short device stat %q", s)
	}
	field := func(i int) (uint64, error) { return strconv.ParseUint(f[i], 10, 64) }
	var st devStat
	var errs [3]error
	st.writes, errs[0] = field(4)
	st.inFlight, errs[1] = field(8)
	if len(f) >= 16 {
		st.flushes, errs[2] = field(15)
	}
	if err := errors.Join(errs[:]...); err != nil {
		return devStat{}, fmt.Errorf("blockdev: device stat %q: %w", s, err)
	}
	return st, nil
}

// copySparse copies the data ranges of src to a new file dst of the same size, leaving holes
// as holes (a mostly empty image costs memory only for what was written). It returns the data
// bytes copied.
func copySparse(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, fmt.Errorf("blockdev: snapshot: %w", err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return 0, fmt.Errorf("blockdev: snapshot: %w", err)
	}
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("blockdev: snapshot: %w", err)
	}
	n, err := copyRanges(in, out, st.Size())
	if err == nil {
		err = out.Truncate(st.Size())
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(dst)
		return 0, fmt.Errorf("blockdev: snapshot %s: %w", src, err)
	}
	return n, nil
}

// copyRanges copies every data range of in (found with SEEK_DATA and SEEK_HOLE) to the same
// offsets of out.
func copyRanges(in, out *os.File, size int64) (int64, error) {
	var copied int64
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; {
		data, err := unix.Seek(int(in.Fd()), off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			return copied, nil // no data after off
		}
		if err != nil {
			return copied, err
		}
		hole, err := unix.Seek(int(in.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			return copied, err
		}
		n, err := io.CopyBuffer(io.NewOffsetWriter(out, data), io.NewSectionReader(in, data, hole-data), buf)
		copied += n
		if err != nil {
			return copied, err
		}
		off = hole
	}
	return copied, nil
}
