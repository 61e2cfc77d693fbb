// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package log

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/comet-otel/comet/internal/testexec"
)

// Files the process may not read or write (another owner, a wrong mode)
// are hostile input too: the log opens, the streams it can read are
// intact, and the others fail with an error naming the file. Root reads
// every file whatever its mode, so as root the check runs in a child
// process with the uid and gid of nobody.

const (
	permCaseEnv = "COMET_LOG_TEST_PERM_CASE"
	permDirEnv  = "COMET_LOG_TEST_PERM_DIR"
	nobody      = 65534
)

func init() { childRoles["permissions"] = runPermissionsChild }

// permissionCases name a file made unreadable or unwritable, and what the
// log must still do.
var permissionCases = []struct {
	name   string
	victim func(f hostileFixture) (path string, mode os.FileMode)
}{
	{"unreadable_segment", func(f hostileFixture) (string, os.FileMode) { return f.segPath(0, 1), 0o000 }},
	{"unreadable_index", func(f hostileFixture) (string, os.FileMode) { return f.idxPath(0, 1), 0o000 }},
	{"unreadable_offset_file", func(f hostileFixture) (string, os.FileMode) {
		return filepath.Join(f.shards[0], groupsDirName, groupFileName("g")), 0o000
	}},
	{"read_only_shard_directory", func(f hostileFixture) (string, os.FileMode) { return f.shards[0], 0o500 }},
}

func TestHostile_Permissions(t *testing.T) {
	for _, tc := range permissionCases {
		t.Run(tc.name, func(t *testing.T) {
			base, err := os.MkdirTemp("", "comet-perm-*")
			require.NoError(t, err)
			t.Cleanup(func() {
				_ = filepath.Walk(base, func(p string, _ os.FileInfo, _ error) error { return os.Chmod(p, 0o700) })
				_ = os.RemoveAll(base)
			})
			f := newHostileFixtureIn(t, filepath.Join(base, "data"))
			path, mode := tc.victim(f)
			if os.Geteuid() != 0 {
				require.NoError(t, os.Chmod(path, mode))
				require.NoError(t, checkPermissionCase(f.dir, tc.name))
				return
			}
			runAsNobody(t, base, f, path, mode, tc.name)
		})
	}
}

// newHostileFixtureIn is newHostileFixture in the given directory.
func newHostileFixtureIn(t *testing.T, dir string) hostileFixture {
	t.Helper()
	f := newHostileFixture(t)
	require.NoError(t, os.CopyFS(dir, os.DirFS(f.dir)))
	f.dir = dir
	for s := range f.shards {
		f.shards[s] = filepath.Join(dir, hostileNS, "v1", fmt.Sprintf("shard-%04d", s))
	}
	return f
}

// runAsNobody hands the fixture to nobody, applies the mode, and runs the
// check in a copy of the test binary started as nobody.
func runAsNobody(t *testing.T, base string, f hostileFixture, path string, mode os.FileMode, name string) {
	t.Helper()
	require.NoError(t, os.Chmod(base, 0o755))
	require.NoError(t, filepath.Walk(f.dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	}))
	require.NoError(t, os.Chmod(path, mode))
	bin := filepath.Join(base, "log.test")
	require.NoError(t, copyFile(os.Args[0], bin, 0o755))
	cmd := testexec.Binary(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=permissions", permCaseEnv+"="+name, permDirEnv+"="+f.dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Skipf("cannot start a process as nobody to test file permissions (root reads every file): %v", err)
	}
	require.NoError(t, err, "the check as nobody failed:\n%s", out)
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

func runPermissionsChild() error {
	return checkPermissionCase(os.Getenv(permDirEnv), os.Getenv(permCaseEnv))
}

// checkPermissionCase opens the fixture after the case's file was made
// inaccessible and checks what must still hold.
func checkPermissionCase(dir, name string) error {
	c, err := NewClientWithConfig(dir, hostileConfig())
	if err != nil {
		return fmt.Errorf("the log must open: %w", err)
	}
	defer c.Close()
	ctx := context.Background()
	stream0 := ShardStreamName(hostileNS, "v1", 0)
	if err := readsAll(c, 1); err != nil {
		return fmt.Errorf("the other stream: %w", err)
	}
	switch name {
	case "unreadable_segment":
		// The stream cannot be opened: its operations fail naming the file.
		_, err := c.Append(ctx, stream0, [][]byte{[]byte("x")})
		if !errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("append to the stream with an unreadable segment: want a permission error, got %v", err)
		}
		return nil
	case "unreadable_index", "unreadable_offset_file":
		if err := readsAll(c, 0); err != nil {
			return err
		}
		_, err := c.Append(ctx, stream0, [][]byte{[]byte("x")})
		return err
	case "read_only_shard_directory":
		if err := readsAll(c, 0); err != nil {
			return err
		}
		// Appends fail once a new segment would be needed, with an error.
		for i := range 100 {
			if _, err := c.Append(ctx, stream0, [][]byte{payload(0, i, hostileSize)}); err != nil {
				if !errors.Is(err, os.ErrPermission) {
					return fmt.Errorf("append in a read-only directory: want a permission error, got %v", err)
				}
				return nil
			}
		}
		return errors.New("100 appends into a read-only shard directory all succeeded")
	}
	return fmt.Errorf("unknown case %q", name)
}

// readsAll reads shard s with a fresh group and checks every entry.
func readsAll(c *Client, s int) error {
	cons := NewConsumer(c, ConsumerOptions{Group: fmt.Sprint("perm-check-", s), Stream: ShardStreamName(hostileNS, "v1", uint32(s))})
	defer cons.Close()
	msgs, err := cons.Read(context.Background(), nil, 10*hostileEntries)
	if err != nil {
		return fmt.Errorf("read shard %d: %w", s, err)
	}
	if len(msgs) != hostileEntries {
		return fmt.Errorf("shard %d: read %d entries, want %d", s, len(msgs), hostileEntries)
	}
	for i, m := range msgs {
		if m.ID.EntryNumber != int64(i) || string(m.Data) != string(payload(uint32(s), i, hostileSize)) {
			return fmt.Errorf("shard %d: entry %d is wrong", s, i)
		}
	}
	return nil
}
