// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
)

func init() {
	childRoles["member"] = runMemberChild
}

const memberShards = 6

// deliveries records what each member of a group delivered.
type deliveries struct {
	mu     sync.Mutex
	count  map[MessageID]int
	recent map[string]map[uint32]time.Time // member -> shard -> last delivery
}

func newDeliveries() *deliveries {
	return &deliveries{count: map[MessageID]int{}, recent: map[string]map[uint32]time.Time{}}
}

func (d *deliveries) note(member string, msgs []StreamMessage) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.recent[member] == nil {
		d.recent[member] = map[uint32]time.Time{}
	}
	for _, m := range msgs {
		d.count[m.ID]++
		d.recent[member][m.ID.ShardID] = time.Now()
	}
}

// shardsSince returns the shards member delivered from since t.
func (d *deliveries) shardsSince(member string, t time.Time) []uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []uint32
	for id, at := range d.recent[member] {
		if at.After(t) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (d *deliveries) total() (distinct, dups int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.count {
		distinct++
		dups += n - 1
	}
	return distinct, dups
}

// appendRounds appends one entry to each shard every 20ms for d and
// returns how many entries it appended.
func appendRounds(t *testing.T, c *Client, ns string, d time.Duration) int {
	t.Helper()
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for s := range uint32(memberShards) {
			_, err := c.Append(context.Background(), ShardStreamName(ns, "v1", s), [][]byte{payload(s, n, 40)})
			require.NoError(t, err)
			n++
		}
		time.Sleep(20 * time.Millisecond)
	}
	return n
}

// Two members of a group in one process split the shards, never deliver
// an entry twice, and when one stops the other takes its shards.
func TestMembership_MembersSplitShardsAndTakeOverFromOneThatStops(t *testing.T) {
	cfg := testConfig()
	cfg.Logger = zaptest.NewLogger(t)
	c := openClient(t, t.TempDir(), cfg)
	sent := appendRounds(t, c, "mb", 0) // creates nothing; shards come with the first round
	d := newDeliveries()
	run := func(ctx context.Context, name string) <-chan error {
		done := make(chan error, 1)
		cons := NewConsumer(c, ConsumerOptions{Group: "split", Stream: "mb:v1:shard:*"})
		go func() {
			defer cons.Close()
			err := cons.Process(ctx, func(_ context.Context, msgs []StreamMessage) error {
				d.note(name, msgs)
				return nil
			}, WithGroupMembership(), WithPollInterval(5*time.Millisecond), WithBatchSize(10))
			done <- err
		}()
		return done
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopA()
	defer stopB()
	doneA, doneB := run(ctxA, "a"), run(ctxB, "b")

	sent += appendRounds(t, c, "mb", 3*rebalanceEvery)
	since := time.Now()
	sent += appendRounds(t, c, "mb", rebalanceEvery)
	a, b := d.shardsSince("a", since), d.shardsSince("b", since)
	require.NotEmpty(t, a, "member a reads a share")
	require.NotEmpty(t, b, "member b reads a share")
	require.Empty(t, intersect(a, b), "a shard is read by one member at a time: a=%v b=%v", a, b)
	require.Len(t, append(a, b...), memberShards, "every shard is read: a=%v b=%v", a, b)

	stopA()
	require.NoError(t, <-doneA)
	sent += appendRounds(t, c, "mb", 3*rebalanceEvery)
	since = time.Now()
	sent += appendRounds(t, c, "mb", rebalanceEvery)
	require.Len(t, d.shardsSince("b", since), memberShards, "b took over a's shards")
	eventually(t, 5*time.Second, func() bool { n, _ := d.total(); return n == sent }, "everything delivered")
	stopB()
	require.NoError(t, <-doneB)
	distinct, dups := d.total()
	require.Equal(t, sent, distinct)
	require.Zero(t, dups, "clean handovers deliver nothing twice")
}

func intersect(a, b []uint32) []uint32 {
	var out []uint32
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func TestMembership_RefusesConsumerAssignment(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "mb:v1:shard:*"})
	defer cons.Close()
	err := cons.Process(context.Background(), func(context.Context, []StreamMessage) error { return nil },
		WithGroupMembership(), WithConsumerAssignment(0, 2))
	require.ErrorContains(t, err, "cannot be combined")
}

// runMemberChild is a member of group "edge" on "<COMET_NS or mb>:v1:shard:*",
// reading the directory read-only as a collector without the writer
// would. It prints each entry it handles ("shard entry") before its batch
// is acknowledged, and stops cleanly when stdin closes.
func runMemberChild() error {
	cfg := testConfig()
	cfg.Concurrency.ReadOnly = true
	cfg.Logger = zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.AddSync(os.Stderr), zapcore.WarnLevel))
	c, err := NewClientWithConfig(os.Getenv("COMET_DIR"), cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		cancel()
	}()
	out := bufio.NewWriter(os.Stdout)
	ns := os.Getenv("COMET_NS")
	if ns == "" {
		ns = "mb"
	}
	cons := NewConsumer(c, ConsumerOptions{Group: "edge", Stream: ns + ":v1:shard:*"})
	defer cons.Close()
	return cons.Process(ctx, func(_ context.Context, msgs []StreamMessage) error {
		for _, m := range msgs {
			fmt.Fprintf(out, "%d %d\n", m.ID.ShardID, m.ID.EntryNumber)
		}
		return out.Flush()
	}, WithGroupMembership(), WithPollInterval(10*time.Millisecond), WithBatchSize(10))
}

// Three member processes share a group while a writer appends; one is
// killed with SIGKILL mid-delivery. Every entry is delivered, the killed
// member's unacknowledged batch at most twice, and nothing else twice.
func TestMembership_ProcessesShareAGroupAndSurviveAKill(t *testing.T) {
	dir := t.TempDir()
	c := openClient(t, dir, testConfig())
	sent := appendRounds(t, c, "mb", 20*time.Millisecond)

	type child struct {
		cmd   *exec.Cmd
		stop  func()
		lines <-chan string
	}
	start := func() child {
		cmd := childCommand("member", "COMET_DIR="+dir)
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		lines := startWithLines(t, cmd)
		return child{cmd: cmd, stop: func() { _ = stdin.Close() }, lines: lines}
	}
	children := []child{start(), start(), start()}
	defer func() {
		for _, ch := range children {
			_ = ch.cmd.Process.Kill()
			_ = ch.cmd.Wait()
		}
	}()

	delivered := map[MessageID]int{}
	perChild := make([]int, len(children))
	var mu sync.Mutex
	var readers sync.WaitGroup
	for i, ch := range children {
		readers.Go(func() {
			for line := range ch.lines {
				var id MessageID
				if _, err := fmt.Sscanf(line, "%d %d", &id.ShardID, &id.EntryNumber); err != nil {
					t.Errorf("child %d printed %q", i, line)
					continue
				}
				mu.Lock()
				delivered[id]++
				perChild[i]++
				mu.Unlock()
			}
		})
	}
	sent += appendRounds(t, c, "mb", 3*rebalanceEvery)
	mu.Lock()
	require.Positive(t, perChild[0], "the first member got a share before the kill: %v", perChild)
	mu.Unlock()
	require.NoError(t, children[0].cmd.Process.Signal(syscall.SIGKILL))
	sent += appendRounds(t, c, "mb", 3*rebalanceEvery)
	eventually(t, 15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(delivered) == sent
	}, "every entry delivered by the surviving members")
	for _, ch := range children[1:] {
		ch.stop()
	}
	readers.Wait()
	for _, ch := range children[1:] {
		require.NoError(t, ch.cmd.Wait(), "a member stopped cleanly")
	}
	dups := 0
	for _, n := range delivered {
		dups += n - 1
	}
	t.Logf("members delivered %v entries; %d entries, %d delivered twice", perChild, sent, dups)
	require.Len(t, delivered, sent)
	require.LessOrEqual(t, dups, 10, "only the killed member's unacknowledged batch comes again")
	require.NotZero(t, perChild[1], "member 1 read a share: %v", perChild)
	require.NotZero(t, perChild[2], "member 2 read a share: %v", perChild)
}
