// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func init() {
	childRoles["writer"] = runWriterChild
	childRoles["consumer"] = runConsumerChild
}

// runWriterChild appends COMET_N entries to "xp:v1:shard:000k" for k in
// 0..2, one per Append, rotating small segments, then waits for stdin to
// close.
func runWriterChild() error {
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 8 << 10
	c, err := NewClientWithConfig(os.Getenv("COMET_DIR"), cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	n, _ := strconv.Atoi(os.Getenv("COMET_N"))
	fmt.Println("ready")
	for i := range n {
		if _, err := c.Append(context.Background(), ShardStreamName("xp", "v1", uint32(i%3)), [][]byte{payload(uint32(i%3), i, 60)}); err != nil {
			return err
		}
		if i%100 == 0 {
			time.Sleep(time.Millisecond) // let the reader tail a moving log
		}
	}
	fmt.Println("done")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	return nil
}

func TestCrossProcess_ReadOnlyConsumerTailsAnotherWriter(t *testing.T) {
	dir := t.TempDir()
	const n = 3000
	cmd := childCommand("writer", "COMET_DIR="+dir, fmt.Sprintf("COMET_N=%d", n))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("writer stderr: %s", stderr.String())
		}
	}()
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan())
	require.Equal(t, "ready", lines.Text())

	_, err = NewClientWithConfig(dir, testConfig())
	require.ErrorIs(t, err, ErrLocked, "the writer holds the directory")
	require.Contains(t, err.Error(), fmt.Sprintf("process %d", cmd.Process.Pid))

	cfg := testConfig()
	cfg.Concurrency.ReadOnly = true
	reader := openClient(t, dir, cfg)
	cons := NewConsumer(reader, ConsumerOptions{Group: "tail", Stream: "xp:v1:shard:*"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	next := map[uint32]int64{}
	got := 0
	err = cons.Process(ctx, func(_ context.Context, msgs []StreamMessage) error {
		for _, m := range msgs {
			shard := m.ID.ShardID
			require.Equal(t, next[shard], m.ID.EntryNumber, "in order, no gap, no duplicate")
			i := int(m.ID.EntryNumber)*3 + int(shard)
			require.Equal(t, payload(shard, i, 60), m.Data)
			next[shard]++
			got++
		}
		if got == n {
			cancel()
		}
		return nil
	}, WithPollInterval(5*time.Millisecond), WithBatchSize(50))
	require.NoError(t, err)
	require.Equal(t, n, got, "every entry of the other process was delivered")
	_, err = reader.Append(context.Background(), "xp:v1:shard:0000", [][]byte{[]byte("x")})
	require.ErrorIs(t, err, ErrReadOnly)
}

// runConsumerChild consumes "xp:v1:shard:*" as group "worker" in batches
// of 10, printing each entry it handles before acknowledging the batch
// with a pause, so a SIGKILL can land between delivery and ack.
func runConsumerChild() error {
	c, err := NewClientWithConfig(os.Getenv("COMET_DIR"), testConfig())
	if err != nil {
		return err
	}
	cons := NewConsumer(c, ConsumerOptions{Group: "worker", Stream: "xp:v1:shard:*"})
	return cons.Process(context.Background(), func(_ context.Context, msgs []StreamMessage) error {
		for _, m := range msgs {
			fmt.Printf("%d %d\n", m.ID.ShardID, m.ID.EntryNumber)
		}
		time.Sleep(2 * time.Millisecond)
		return nil
	}, WithBatchSize(10))
}

func TestCrossProcess_ConsumerKilledMidBatch_RedeliversUnacked(t *testing.T) {
	dir := t.TempDir()
	c, err := NewClientWithConfig(dir, testConfig())
	require.NoError(t, err)
	const perShard = 2000
	for i := range 2 * perShard {
		_, err := c.Append(context.Background(), ShardStreamName("xp", "v1", uint32(i%2)), [][]byte{payload(0, i, 30)})
		require.NoError(t, err)
	}
	require.NoError(t, c.Close())

	delivered := map[[2]int64]int{}
	for round := 0; round < 20 && len(delivered) < 2*perShard; round++ {
		cmd := childCommand("consumer", "COMET_DIR="+dir)
		lines := startWithLines(t, cmd)
		// Kill after a varying number of deliveries, or once the child has
		// gone quiet (nothing left to deliver).
		killAt, seen := 150+round*7, 0
		quiet := time.NewTimer(2 * time.Second)
	collect:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break collect
				}
				var shard, entry int64
				_, err := fmt.Sscanf(line, "%d %d", &shard, &entry)
				require.NoError(t, err)
				delivered[[2]int64{shard, entry}]++
				if seen++; seen == killAt {
					require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				}
				quiet.Reset(2 * time.Second)
			case <-quiet.C:
				_ = cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		quiet.Stop()
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	c = openClient(t, dir, testConfig())
	rest := drain(t, NewConsumer(c, ConsumerOptions{Group: "worker", Stream: "xp:v1:shard:*"}), 100)
	for _, m := range rest {
		delivered[[2]int64{int64(m.ID.ShardID), m.ID.EntryNumber}]++
	}
	require.Len(t, delivered, 2*perShard, "no entry is lost across kills")
	dups := 0
	for _, n := range delivered {
		dups += n - 1
	}
	t.Logf("duplicates after kills: %d of %d entries", dups, 2*perShard)
	require.Less(t, dups, 20*2*10+1, "only unacknowledged batches are redelivered")
}
