// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() { childRoles["reader"] = runReaderChild }

// runReaderChild opens the directory read-only with a consumer of group
// "g" on logs:v1, says so on stdout, and waits to be killed.
func runReaderChild() error {
	cfg := testConfig()
	cfg.Concurrency.ReadOnly = true
	c, err := NewClientWithConfig(os.Getenv("COMET_DIR"), cfg)
	if err != nil {
		return err
	}
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	if _, err := cons.Read(context.Background(), nil, 1); err != nil {
		return err
	}
	fmt.Println("reading")
	select {}
}

func TestLockGroup_RefusedWhileAConsumerOfTheGroupIsOpen(t *testing.T) {
	dir := t.TempDir()
	c := openClient(t, dir, testConfig())
	_, err := c.Append(context.Background(), "logs:v1:shard:0000", [][]byte{[]byte("x")})
	require.NoError(t, err)

	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	_, err = LockGroup(dir, "logs", "v1", "g")
	require.ErrorIs(t, err, ErrGroupInUse)
	assert.ErrorContains(t, err, presenceDirName, "the error names the lock file")

	other, err := LockGroup(dir, "logs", "v1", "other")
	require.NoError(t, err, "another group is free")
	require.NoError(t, other())
	unlock, err := LockGroup(dir, "traces", "v1", "g")
	require.NoError(t, err, "the same group on another namespace is free")
	require.NoError(t, unlock())

	second := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	require.NoError(t, cons.Close())
	_, err = LockGroup(dir, "logs", "v1", "g")
	require.ErrorIs(t, err, ErrGroupInUse, "a second consumer of the group still holds it")
	require.NoError(t, second.Close())

	unlock, err = LockGroup(dir, "logs", "v1", "g")
	require.NoError(t, err, "free once every consumer of the group closed")
	began := time.Now()
	late := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	defer late.Close()
	assert.GreaterOrEqual(t, time.Since(began), announceWait, "a consumer waits for the tool, then reads anyway")
	msgs, err := late.Read(context.Background(), nil, 1)
	require.NoError(t, err)
	assert.Len(t, msgs, 1)
	require.NoError(t, unlock())
}

func TestLockGroup_SeesConsumersOfOtherProcessesUntilTheyDie(t *testing.T) {
	dir := t.TempDir()
	c := openClient(t, dir, testConfig())
	_, err := c.Append(context.Background(), "logs:v1:shard:0000", [][]byte{[]byte("x")})
	require.NoError(t, err)

	cmd := childCommand("reader", "COMET_DIR="+dir)
	lines := startWithLines(t, cmd)
	select {
	case <-lines:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the reader child did not start")
	}
	_, err = LockGroup(dir, "logs", "v1", "g")
	require.ErrorIs(t, err, ErrGroupInUse, "a reader in another process holds the group")
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	unlock, err := LockGroup(dir, "logs", "v1", "g")
	require.NoError(t, err, "the kernel released the dead reader's lock")
	require.NoError(t, unlock())
}
