// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package blockdev

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseDevStat_WritesFlushesInFlight(t *testing.T) {
	// 17 fields, as Linux 5.5+ reports them.
	st, err := parseDevStat("  147 0 4273 28   12 0 4105 1   3 16 30   0 0 0 0   11 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := (devStat{writes: 12, inFlight: 3, flushes: 11}); st != want {
		t.Fatalf("got %+v, want %+v", st, want)
	}
	// 11 fields (older kernels): no flush counter.
	st, err = parseDevStat("1 2 3 4 5 6 7 8 0 10 11")
	if err != nil || st != (devStat{writes: 5}) {
		t.Fatalf("got %+v, %v", st, err)
	}
	if _, err := parseDevStat("1 2 3"); err == nil {
		t.Fatal("a short stat line was accepted")
	}
}

func TestCopySparse_CopiesDataAndKeepsHoles(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	const size = 64 << 20
	chunks := map[int64][]byte{
		0:        bytes.Repeat([]byte("a"), 5000),
		8 << 20:  bytes.Repeat([]byte("b"), 70000),
		size - 3: []byte("end"),
	}
	for off, b := range chunks {
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst")
	n, err := copySparse(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the copy differs from the source")
	}
	if n >= size/2 {
		t.Fatalf("copied %d data bytes of a %d-byte file holding 75 KB: holes were copied as data", n, size)
	}
	var st unix.Stat_t
	if err := unix.Stat(dst, &st); err != nil {
		t.Fatal(err)
	}
	if allocated := st.Blocks * 512; allocated >= size/2 {
		t.Fatalf("the copy allocates %d bytes: its holes were filled", allocated)
	}
}

// TestPowerLoss_Model_DeviceHoldsOnlyWhatWasSynced checks the method the power-loss suite
// relies on, on each filesystem: with writeback held, a snapshot of the device has the file
// that was fsynced and not the data of the one that was only written.
func TestPowerLoss_Model_DeviceHoldsOnlyWhatWasSynced(t *testing.T) {
	if reason := Unavailable(); reason != "" {
		t.Skip("power-loss model: " + reason)
	}
	hold, err := HoldWriteback(20 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	released := false
	t.Cleanup(func() {
		if !released {
			_ = hold.Release()
		}
	})
	held, err := readSysctls(savedKnobs)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range heldWriteback {
		if !strings.Contains(strings.Join(flatten(held), " "), want.Name+"="+want.Value) {
			t.Fatalf("vm.%s not set to %s while writeback is held: %v", want.Name, want.Value, held)
		}
	}
	for _, fs := range []string{Ext4, XFS} {
		t.Run(fs, func(t *testing.T) {
			if reason := Unsupported(fs); reason != "" {
				t.Skip(reason)
			}
			checkSnapshotModel(t, fs)
		})
	}
	released = true
	before := hold.saved
	if err := hold.Release(); err != nil {
		t.Fatal(err)
	}
	after, err := readSysctls(savedKnobs)
	if err != nil {
		t.Fatal(err)
	}
	// Another holder may have taken the settings since: compare only if none did.
	if _, err := os.Stat(writebackStatePath); os.IsNotExist(err) &&
		strings.Join(flatten(after), " ") != strings.Join(flatten(before), " ") {
		t.Fatalf("writeback settings not restored: before %v, after %v", before, after)
	}
}

func flatten(s []sysctl) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = v.Name + "=" + v.Value
	}
	return out
}

func checkSnapshotModel(t *testing.T, fs string) {
	work, err := os.MkdirTemp(RAMDir, "comet-blockdev-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(work) })
	mnt := t.TempDir()
	im, err := Create(filepath.Join(work, "fs.img"), fs, 320<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := im.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := im.Attach(); err != nil {
		t.Fatal(err)
	}
	if err := im.Mount(mnt, ""); err != nil {
		t.Fatal(err)
	}
	synced := bytes.Repeat([]byte("synced "), 100_000)
	unsynced := bytes.Repeat([]byte("lost   "), 100_000)
	writeFile(t, filepath.Join(mnt, "synced"), synced, true)
	writeFile(t, filepath.Join(mnt, "unsynced"), unsynced, false)

	cut := Open(filepath.Join(work, "cut.img"), fs)
	t.Cleanup(func() {
		if err := cut.Close(); err != nil {
			t.Error(err)
		}
	})
	if _, err := im.Snapshot(cut.Path); err != nil {
		t.Fatal(err)
	}
	if err := im.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cut.Attach(); err != nil {
		t.Fatal(err)
	}
	if err := cut.Mount(mnt, ""); err != nil {
		t.Fatalf("the cut does not mount: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(mnt, "synced"))
	if err != nil || !bytes.Equal(got, synced) {
		t.Fatalf("the fsynced file is not intact after the cut (%d of %d bytes, %v)", len(got), len(synced), err)
	}
	got, err = os.ReadFile(filepath.Join(mnt, "unsynced"))
	if err == nil && bytes.Equal(got, unsynced) {
		t.Fatal("the data of the file that was never fsynced reached the device")
	}
	t.Logf("%s: unsynced file after the cut: %d bytes (err %v)", fs, len(got), err)
}

func writeFile(t *testing.T, path string, data []byte, sync bool) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		// The new name must be durable too: sync the directory.
		d, err := os.Open(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Sync(); err != nil {
			t.Fatal(err)
		}
		_ = d.Close()
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
