// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func init() {
	childRoles["mpwriter"] = runMultiProcessWriterChild
}

const mpShards = 4

func multiProcessConfig(slots int) CometConfig {
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 16 << 10
	cfg.Concurrency.EnableMultiProcessMode = true
	cfg.Concurrency.ProcessSlots = slots
	return cfg
}

// mpPayload is entry i of shard s, whoever writes it.
func mpPayload(s uint32, i int64) []byte { return payload(s, int(i), 80) }

// Two writers in one process stand for two processes (the locks are per
// open file): each owns its slot's shards, refuses the others', and
// reads what the other appends.
func TestMultiProcess_SlotsSplitTheShards(t *testing.T) {
	dir := t.TempDir()
	a := openClient(t, dir, multiProcessConfig(2))
	b := openClient(t, dir, multiProcessConfig(2))
	sa, sb := a.slot.slot, b.slot.slot
	require.NotEqual(t, sa, sb)
	require.Equal(t, []uint32{uint32(sa), uint32(sa) + 2}, a.OwnedShards(mpShards))
	require.Equal(t, []uint32{uint32(sb), uint32(sb) + 2}, b.OwnedShards(mpShards))

	_, err := a.Append(context.Background(), ShardStreamName("mp", "v1", uint32(sb)), [][]byte{[]byte("x")})
	require.ErrorIs(t, err, ErrNotOwner)
	require.ErrorContains(t, err, fmt.Sprintf("slot %d of 2", sb))

	for _, c := range []*Client{a, b} {
		for _, s := range c.OwnedShards(mpShards) {
			for i := range int64(50) {
				_, err := c.Append(context.Background(), ShardStreamName("mp", "v1", s), [][]byte{mpPayload(s, i)})
				require.NoError(t, err)
			}
		}
	}
	got := drain(t, NewConsumer(a, ConsumerOptions{Group: "g", Stream: "mp:v1:shard:*"}), 64)
	require.Len(t, got, mpShards*50, "a reads its shards and b's")
	for _, m := range got {
		require.Equal(t, mpPayload(m.ID.ShardID, m.ID.EntryNumber), m.Data)
	}

	_, err = NewClientWithConfig(dir, multiProcessConfig(2))
	require.ErrorIs(t, err, ErrLocked, "both slots are held")
	_, err = NewClientWithConfig(dir, multiProcessConfig(3))
	require.ErrorContains(t, err, "ProcessSlots is 3, but the writers of this directory use 2")
}

// A single writer and multi-process writers exclude each other, with an
// error that says why.
func TestMultiProcess_SingleWriterAndMultiProcessWritersExcludeEachOther(t *testing.T) {
	dir := t.TempDir()
	single := openClient(t, dir, testConfig())
	_, err := NewClientWithConfig(dir, multiProcessConfig(2))
	require.ErrorIs(t, err, ErrLocked)
	require.ErrorContains(t, err, "not in multi-process mode")
	require.NoError(t, single.Close())

	openClient(t, dir, multiProcessConfig(2))
	_, err = NewClientWithConfig(dir, testConfig())
	require.ErrorIs(t, err, ErrLocked)
}

// runMultiProcessWriterChild prints "slot K", then appends COMET_N
// entries to every shard its slot owns, one entry per Append, printing
// "shard entry" for each acknowledged one, and keeps its slot until stdin
// closes.
func runMultiProcessWriterChild() error {
	c, err := NewClientWithConfig(os.Getenv("COMET_DIR"), multiProcessConfig(2))
	if err != nil {
		return err
	}
	defer c.Close()
	n, _ := strconv.ParseInt(os.Getenv("COMET_N"), 10, 64)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	slot := c.slot.slot
	fmt.Fprintf(out, "slot %d\n", slot)
	owned := c.OwnedShards(mpShards)
	next := map[uint32]int64{}
	for _, s := range owned {
		if next[s], err = c.Len(context.Background(), ShardStreamName("mp", "v1", s)); err != nil {
			return err
		}
	}
	for range n {
		for _, s := range owned {
			ids, err := c.Append(context.Background(), ShardStreamName("mp", "v1", s), [][]byte{mpPayload(s, next[s])})
			if err != nil {
				return err
			}
			if ids[0].EntryNumber != next[s] {
				return fmt.Errorf("shard %d: appended entry %d, expected %d", s, ids[0].EntryNumber, next[s])
			}
			fmt.Fprintf(out, "%d %d\n", s, next[s])
			next[s]++
		}
		if err := out.Flush(); err != nil {
			return err
		}
	}
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	return nil
}

// Two writer processes append to one directory; one is killed with
// SIGKILL mid-append and a new process takes its slot, recovers its
// shards and goes on. A reader sees every acknowledged entry, in order,
// with its content, and nothing else.
func TestMultiProcess_WriterKilledMidAppendIsTakenOverByTheNext(t *testing.T) {
	dir := t.TempDir()
	acked := map[uint32]int64{} // shard -> entries acknowledged
	var mu sync.Mutex
	type writer struct {
		cmd  *exec.Cmd
		stop func()
		out  *sync.WaitGroup
		slot int
	}
	start := func(n int) writer {
		cmd := childCommand("mpwriter", "COMET_DIR="+dir, fmt.Sprintf("COMET_N=%d", n))
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		lines := startWithLines(t, cmd)
		w := writer{cmd: cmd, stop: func() { _ = stdin.Close() }, out: &sync.WaitGroup{}}
		first, ok := <-lines
		require.True(t, ok, "the writer started")
		_, err = fmt.Sscanf(first, "slot %d", &w.slot)
		require.NoError(t, err, first)
		w.out.Go(func() {
			for line := range lines {
				var s uint32
				var e int64
				if _, err := fmt.Sscanf(line, "%d %d", &s, &e); err != nil {
					t.Errorf("writer printed %q", line)
					continue
				}
				mu.Lock()
				// In order; the heir may start one past the last entry
				// acknowledged: the killed writer wrote it, unacknowledged.
				if e < acked[s] || e > acked[s]+1 {
					t.Errorf("shard %d: entry %d acknowledged after %d", s, e, acked[s])
				}
				acked[s] = e + 1
				mu.Unlock()
			}
		})
		return w
	}
	total := func() int64 {
		mu.Lock()
		defer mu.Unlock()
		var n int64
		for _, v := range acked {
			n += v
		}
		return n
	}
	steady := start(2000)
	doomed := start(1_000_000)
	defer func() {
		for _, w := range []writer{steady, doomed} {
			_ = w.cmd.Process.Kill()
			_ = w.cmd.Wait()
		}
	}()
	eventually(t, 20*time.Second, func() bool { return total() > 2000 }, "both writers appending")
	require.NoError(t, doomed.cmd.Process.Signal(syscall.SIGKILL))
	_ = doomed.cmd.Wait()
	doomed.out.Wait()

	heir := start(500)
	require.Equal(t, doomed.slot, heir.slot, "the next writer takes the dead one's slot")
	heir.stop()
	require.NoError(t, heir.cmd.Wait())
	heir.out.Wait()
	steady.stop()
	require.NoError(t, steady.cmd.Wait())
	steady.out.Wait()

	cfg := testConfig()
	cfg.Concurrency.ReadOnly = true
	r := openClient(t, dir, cfg)
	got := drain(t, NewConsumer(r, ConsumerOptions{Group: "check", Stream: "mp:v1:shard:*"}), 500)
	perShard := map[uint32]int64{}
	for _, m := range got {
		require.Equal(t, perShard[m.ID.ShardID], m.ID.EntryNumber, "no gap")
		require.Equal(t, mpPayload(m.ID.ShardID, m.ID.EntryNumber), m.Data, "shard %d entry %d", m.ID.ShardID, m.ID.EntryNumber)
		perShard[m.ID.ShardID]++
	}
	mu.Lock()
	defer mu.Unlock()
	for s := range uint32(mpShards) {
		// The killed writer may have written an entry it did not get to
		// acknowledge; nothing acknowledged is missing.
		require.GreaterOrEqual(t, perShard[s], acked[s], "shard %d keeps every acknowledged entry", s)
		require.LessOrEqual(t, perShard[s], acked[s]+1, "shard %d", s)
	}
}

// Two writers in different slots fill one budget: together they stay
// within it, up to one batch each (they share their figures: usage.go).
func TestMultiProcess_WritersShareTheBudget(t *testing.T) {
	dir := t.TempDir()
	cfg := multiProcessConfig(2)
	cfg.Retention.MaxTotalSize = 256 << 10
	cfg.Retention.WhenFull = FullReject
	a := openClient(t, dir, cfg)
	b := openClient(t, dir, cfg)
	batch := make([][]byte, 10)
	for i := range batch {
		batch[i] = payload(0, i, 400)
	}
	full := map[*Client]bool{}
	for i := 0; len(full) < 2; i++ {
		require.Less(t, i, 100_000, "the budget never filled")
		c := []*Client{a, b}[i%2]
		_, err := c.Append(context.Background(), ShardStreamName("mp", "v1", c.OwnedShards(mpShards)[i%4/2]), batch)
		if err != nil {
			require.ErrorIs(t, err, ErrFull)
			full[c] = true
		}
	}
	onDisk := segmentBytes(t, dir)
	t.Logf("two writers left %d bytes of segments for a budget of %d (a counts %d, b %d)", onDisk, cfg.Retention.MaxTotalSize, a.budgetBytes(), b.budgetBytes())
	// The documented bound: one batch per writer (usage.go).
	require.LessOrEqual(t, onDisk, cfg.Retention.MaxTotalSize+2*int64(len(batch)*(400+headerSize)))
	require.Greater(t, onDisk, cfg.Retention.MaxTotalSize*3/4, "both filled their part")
}

// Writer and member processes together: two writers and two members of
// one group; one writer is killed mid-append (a new one takes its slot)
// and one member mid-delivery (a new one joins). Every acknowledged entry
// is delivered; only the killed member's unacknowledged batch comes twice.
func TestMultiProcess_WritersAndMembersSurviveKills(t *testing.T) {
	dir := t.TempDir()
	acked := map[uint32]int64{}
	delivered := map[MessageID]int{}
	who := map[MessageID][]int{}
	var mu sync.Mutex
	type proc struct {
		cmd    *exec.Cmd
		stop   func()
		lines  atomic.Int64 // entries it printed
		stderr bytes.Buffer
	}
	var procs []*proc
	var readers sync.WaitGroup
	defer func() {
		for _, p := range procs {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
			if t.Failed() {
				t.Logf("%s printed %d lines; stderr: %s", p.cmd.Env[len(p.cmd.Env)-1], p.lines.Load(), p.stderr.String())
			}
		}
	}()
	start := func(role string, env ...string) *proc {
		cmd := childCommand(role, append([]string{"COMET_DIR=" + dir}, env...)...)
		in, err := cmd.StdinPipe()
		require.NoError(t, err)
		p := &proc{cmd: cmd, stop: func() { _ = in.Close() }}
		cmd.Stderr = &p.stderr
		lines := startWithLines(t, cmd)
		idx := len(procs)
		procs = append(procs, p)
		readers.Go(func() {
			for line := range lines {
				var s uint32
				var e int64
				if _, err := fmt.Sscanf(line, "%d %d", &s, &e); err != nil {
					continue // "slot K"
				}
				mu.Lock()
				if role == "mpwriter" {
					acked[s] = max(acked[s], e+1)
				} else {
					id := MessageID{ShardID: s, EntryNumber: e}
					delivered[id]++
					who[id] = append(who[id], idx)
				}
				mu.Unlock()
				p.lines.Add(1)
			}
		})
		return p
	}
	steady := start("mpwriter", "COMET_N=3000")
	doomedWriter := start("mpwriter", "COMET_N=1000000")
	start("member", "COMET_NS=mp")
	doomedMember := start("member", "COMET_NS=mp")
	eventually(t, 20*time.Second, func() bool { return doomedMember.lines.Load() > 300 }, "writers appending, members delivering")
	require.NoError(t, doomedMember.cmd.Process.Signal(syscall.SIGKILL))
	require.NoError(t, doomedWriter.cmd.Process.Signal(syscall.SIGKILL))
	start("member", "COMET_NS=mp")
	heir := start("mpwriter", "COMET_N=500")
	eventually(t, 30*time.Second, func() bool { return steady.lines.Load() == 2*3000 && heir.lines.Load() == 2*500 }, "the writers finished")
	eventually(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for s := range uint32(mpShards) {
			for e := range acked[s] {
				if delivered[MessageID{ShardID: s, EntryNumber: e}] == 0 {
					return false
				}
			}
		}
		return true
	}, "every acknowledged entry delivered")
	for _, p := range procs {
		p.stop()
	}
	for _, p := range procs {
		_ = p.cmd.Wait()
	}
	readers.Wait()
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for _, n := range delivered {
		dups += n - 1
	}
	t.Logf("%d entries delivered, %d twice (the killed member's unacknowledged batch)", len(delivered), dups)
	if dups > 10 {
		n := 0
		for id, c := range delivered {
			if c > 1 && n < 20 {
				t.Logf("entry %d of shard %d delivered by processes %v", id.EntryNumber, id.ShardID, who[id])
				n++
			}
		}
	}
	require.LessOrEqual(t, dups, 10)
}
