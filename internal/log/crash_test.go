// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The crash tests run a child process (this test binary, re-executed) that
// works on a directory and prints what the log acknowledged; the parent
// kills it with SIGKILL at a random moment, reopens the directory and
// checks that everything acknowledged is there, intact.

func init() {
	childRoles["appender"] = runAppenderChild
}

const crashStream = "crash:v1:shard:0000"

// crashPayload is a self-checking entry: "<writer>.<seq>.<crc>|" then
// filler, where crc covers the filler.
func crashPayload(writer, seq int) []byte {
	size := 20 + (seq*7919+writer*104729)%600
	filler := bytes.Repeat([]byte{byte('a' + (seq+writer)%26)}, size)
	return fmt.Appendf(nil, "%d.%d.%08x|%s", writer, seq, crc32.ChecksumIEEE(filler), filler)
}

// checkCrashPayload validates an entry read back and returns its writer
// and sequence.
func checkCrashPayload(data []byte) (writer, seq int, err error) {
	head, filler, ok := bytes.Cut(data, []byte("|"))
	parts := strings.Split(string(head), ".")
	if !ok || len(parts) != 3 {
		return 0, 0, fmt.Errorf("malformed entry %q", data[:min(len(data), 40)])
	}
	writer, _ = strconv.Atoi(parts[0])
	seq, _ = strconv.Atoi(parts[1])
	if !bytes.Equal(crashPayload(writer, seq), data) {
		return 0, 0, fmt.Errorf("entry %d.%d does not hold its own payload", writer, seq)
	}
	_ = filler
	return writer, seq, nil
}

// runAppenderChild appends with 4 concurrent writers (under the sync mode
// named by COMET_SYNC) until killed, printing "<entry> <writer> <seq>"
// after each Append returns.
func runAppenderChild() error {
	cfg := DefaultCometConfig()
	cfg.Durability.Mode = SyncAlways
	if os.Getenv("COMET_SYNC") == "none" {
		cfg.Durability.Mode = SyncNone
	}
	cfg.Storage.MaxFileSize = 32 << 10 // rotate often: crashes hit rotations too
	cfg.Indexing.BoundaryInterval = 4
	c, err := NewClientWithConfig(os.Getenv("COMET_DIR"), cfg)
	if err != nil {
		return err
	}
	start, _ := strconv.Atoi(os.Getenv("COMET_SEQ"))
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for seq := start; ; seq++ {
				batch := [][]byte{crashPayload(w, seq)}
				if seq%5 == 0 {
					seq++
					batch = append(batch, crashPayload(w, seq))
				}
				ids, err := c.Append(context.Background(), crashStream, batch)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				for i, id := range ids {
					fmt.Fprintf(out, "%d %d %d\n", id.EntryNumber, w, seq-len(ids)+1+i)
				}
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return nil
}

// Rounds alternate between SyncAlways and SyncNone: a process crash loses
// nothing acknowledged under either (none only gives up power-loss safety).
func TestCrash_SIGKILLDuringAppends_KeepsEveryAcknowledgedEntry(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	acked := map[int64][2]int{} // entry → writer, seq
	const rounds = 30
	for round := range rounds {
		mode := []string{"always", "none"}[round%2]
		cmd := childCommand("appender", "COMET_DIR="+dir, "COMET_SYNC="+mode, fmt.Sprintf("COMET_SEQ=%d", round*1_000_000))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		lines := startWithLines(t, cmd)
		// The kill comes at a random moment once the child appends (its
		// start-up takes long under an emulator).
		var kill <-chan time.Time
		killAfter := time.Duration(20+rng.IntN(200)) * time.Millisecond
	collect:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break collect
				}
				if kill == nil && killAfter > 0 {
					kill, killAfter = time.After(killAfter), 0
				}
				var e int64
				var w, s int
				_, err := fmt.Sscanf(line, "%d %d %d", &e, &w, &s)
				require.NoError(t, err, line)
				acked[e] = [2]int{w, s}
			case <-kill:
				require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				kill = nil
			}
		}
		err := cmd.Wait()
		require.Error(t, err, "round %d: the child must die by SIGKILL, stderr: %s", round, stderr.String())
		verifyCrashLog(t, dir, acked, round)
	}
	require.Greater(t, len(acked), rounds*10, "the child must have made progress")
}

// verifyCrashLog reopens the directory and checks the log is a prefix of
// valid entries that contains every acknowledged one.
func verifyCrashLog(t *testing.T, dir string, acked map[int64][2]int, round int) {
	t.Helper()
	cfg := DefaultCometConfig()
	cfg.Storage.MaxFileSize = 32 << 10
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err, "round %d: the log always opens", round)
	defer c.Close()
	n, err := c.Len(context.Background(), crashStream)
	require.NoError(t, err)
	cons := NewConsumer(c, ConsumerOptions{Group: fmt.Sprintf("verify-%d", round), Stream: crashStream})
	defer cons.Close()
	var count int64
	for {
		msgs, err := cons.Read(context.Background(), nil, 500)
		require.NoError(t, err)
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			require.Equal(t, count, m.ID.EntryNumber, "round %d: the log is a prefix: no gap", round)
			w, s, err := checkCrashPayload(m.Data)
			require.NoError(t, err, "round %d entry %d", round, m.ID.EntryNumber)
			if want, ok := acked[m.ID.EntryNumber]; ok {
				require.Equal(t, want, [2]int{w, s}, "round %d: entry %d holds what was acknowledged", round, m.ID.EntryNumber)
			}
			count++
		}
		require.NoError(t, cons.Ack(context.Background(), msgs[len(msgs)-1].ID))
	}
	require.Equal(t, n, count, "round %d: every entry up to Len is readable", round)
	for e := range acked {
		require.Less(t, e, n, "round %d: acknowledged entry %d was lost", round, e)
	}
	require.Zero(t, c.GetStats().CorruptEntries, "round %d: a crash leaves no damage in the middle", round)
}
