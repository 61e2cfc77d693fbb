// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func idsOf(msgs []StreamMessage) []MessageID {
	ids := make([]MessageID, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	return ids
}

func TestConsumer_Read_DoesNotMoveOffsetUntilAck(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	appendN(t, c, "logs:v1:shard:0000", 10, 20, 10)
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	ctx := context.Background()
	first, err := cons.Read(ctx, nil, 4)
	require.NoError(t, err)
	again, err := cons.Read(ctx, nil, 4)
	require.NoError(t, err)
	require.Equal(t, idsOf(first), idsOf(again), "reading again without an ack returns the same entries")

	require.NoError(t, cons.Ack(ctx, first[1].ID)) // cumulative: acks 0 and 1
	next, err := cons.Read(ctx, nil, 4)
	require.NoError(t, err)
	require.EqualValues(t, 2, next[0].ID.EntryNumber)
	lag, err := cons.GetLag(ctx, 0)
	require.NoError(t, err)
	require.EqualValues(t, 8, lag)

	require.NoError(t, cons.AckRange(ctx, 0, 2, 5))
	lag, err = cons.GetLag(ctx, 0)
	require.NoError(t, err)
	require.EqualValues(t, 4, lag)
	require.Error(t, cons.Ack(ctx, MessageID{EntryNumber: 10, ShardID: 0}), "an entry not yet appended cannot be acknowledged")
	require.Error(t, cons.AckRange(ctx, 0, 5, 4))
}

func TestConsumer_TwoGroupsProgressIndependently(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	appendN(t, c, "logs:v1:shard:0002", 100, 20, 10)
	a := NewConsumer(c, ConsumerOptions{Group: "a", Stream: "logs:v1:shard:*"})
	b := NewConsumer(c, ConsumerOptions{Group: "b", Stream: "logs:v1:shard:*"})
	require.Len(t, drain(t, a, 30), 100)
	lagA, _ := a.GetLag(context.Background(), 2)
	lagB, _ := b.GetLag(context.Background(), 2)
	require.Zero(t, lagA)
	require.EqualValues(t, 100, lagB, "group b has read nothing")
	require.Len(t, drain(t, b, 7), 100)
}

func TestConsumer_Restart_ResumesAtAckedOffset(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	appendN(t, c, "logs:v1:shard:0000", 500, 50, 25)
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	msgs, err := cons.Read(context.Background(), nil, 300)
	require.NoError(t, err)
	require.NoError(t, cons.Ack(context.Background(), msgs[199].ID)) // 200..299 read, not acked
	require.NoError(t, c.Close())

	c = openClient(t, dir, cfg)
	got := drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"}), 64)
	require.Len(t, got, 300, "unacknowledged entries are delivered again, acknowledged ones are not")
	require.EqualValues(t, 200, got[0].ID.EntryNumber)
}

func TestConsumer_GroupNames_AnyLengthAndBytes_SurviveRestart(t *testing.T) {
	dir := t.TempDir()
	names := []string{
		strings.Repeat("x", 200),
		"team/receiver:logs with spaces",
		"../../etc/passwd",
		"émetteur 日本語 🚀",
		"a",
		strings.Repeat("long-group-name-", 40),
	}
	c, err := NewClientWithConfig(dir, testConfig())
	require.NoError(t, err)
	appendN(t, c, "logs:v1:shard:0000", 50, 20, 5)
	for i, name := range names {
		cons := NewConsumer(c, ConsumerOptions{Group: name, Stream: "logs:v1:shard:*"})
		require.NoError(t, cons.ResetOffset(context.Background(), 0, int64(10+i)))
	}
	require.NoError(t, c.Close())

	c = openClient(t, dir, testConfig())
	for i, name := range names {
		cons := NewConsumer(c, ConsumerOptions{Group: name, Stream: "logs:v1:shard:*"})
		lag, err := cons.GetLag(context.Background(), 0)
		require.NoError(t, err)
		require.EqualValues(t, 50-(10+i), lag, "group %q kept its offset", name)
	}
	byGroup := map[string]GroupStats{}
	for _, g := range c.GetStats().Groups {
		byGroup[g.Group] = g
	}
	for i, name := range names {
		require.EqualValues(t, 10+i, byGroup[name].Offset, name)
	}
}

func TestConsumer_ThousandsOfGroupsOnOneShard(t *testing.T) {
	dir := t.TempDir()
	c, err := NewClientWithConfig(dir, testConfig())
	require.NoError(t, err)
	appendN(t, c, "logs:v1:shard:0000", 3000, 8, 100)
	const groups = 2000
	for i := range groups {
		cons := NewConsumer(c, ConsumerOptions{Group: fmt.Sprintf("group-%04d-%s", i, strings.Repeat("n", i%100)), Stream: "logs:v1:shard:*"})
		require.NoError(t, cons.Ack(context.Background(), MessageID{EntryNumber: int64(i), ShardID: 0}))
	}
	require.NoError(t, c.Close())
	c = openClient(t, dir, testConfig())
	stats := c.GetStats().Groups
	require.Len(t, stats, groups)
	for _, g := range stats {
		var i int
		_, err := fmt.Sscanf(g.Group, "group-%04d-", &i)
		require.NoError(t, err)
		require.EqualValues(t, i+1, g.Offset, g.Group)
	}
}

func TestConsumer_Wildcard_FindsNewShardsAndOnlyItsNamespace(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	ctx := context.Background()
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "traces:v1:shard:*"})
	_, err := c.Append(ctx, "traces:v1:shard:0001", [][]byte{[]byte("t1")})
	require.NoError(t, err)
	_, err = c.Append(ctx, "traces:v2:shard:0001", [][]byte{[]byte("other version")})
	require.NoError(t, err)
	_, err = c.Append(ctx, "logs:v1:shard:0001", [][]byte{[]byte("other namespace")})
	require.NoError(t, err)
	require.Len(t, drain(t, cons, 10), 1)

	_, err = c.Append(ctx, "traces:v1:shard:0042", [][]byte{[]byte("t2")}) // created after the consumer
	require.NoError(t, err)
	got := drain(t, cons, 10)
	require.Len(t, got, 1)
	require.Equal(t, "t2", string(got[0].Data))
	require.EqualValues(t, 42, got[0].ID.ShardID)
	shards, err := cons.Shards()
	require.NoError(t, err)
	require.Equal(t, []uint32{1, 42}, shards)
}

func TestConsumer_StartLatest_SkipsExistingEntriesOnly(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	ctx := context.Background()
	appendN(t, c, "logs:v1:shard:0000", 10, 10, 10)
	cons := NewConsumer(c, ConsumerOptions{Group: "late", Stream: "logs:v1:shard:*", Start: StartLatest})
	_, err := c.Append(ctx, "logs:v1:shard:0000", [][]byte{[]byte("new")})
	require.NoError(t, err)
	_, err = c.Append(ctx, "logs:v1:shard:0001", [][]byte{[]byte("new shard")})
	require.NoError(t, err)
	got := drain(t, cons, 10)
	require.Len(t, got, 2)
	require.Equal(t, "new", string(got[0].Data))
	require.Equal(t, "new shard", string(got[1].Data))
}

func TestConsumer_SeekToTime_ReplaysFromTimestamp(t *testing.T) {
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 2000
	c := openClient(t, t.TempDir(), cfg)
	ctx := context.Background()
	var marks []time.Time
	for i := range 50 {
		if i%10 == 0 {
			time.Sleep(2 * time.Millisecond)
			marks = append(marks, time.Now())
			time.Sleep(2 * time.Millisecond)
		}
		_, err := c.Append(ctx, "logs:v1:shard:0000", [][]byte{payload(0, i, 100)})
		require.NoError(t, err)
	}
	cons := NewConsumer(c, ConsumerOptions{Group: "replay", Stream: "logs:v1:shard:*"})
	drain(t, cons, 100)
	for k, mark := range marks {
		require.NoError(t, cons.SeekToTime(ctx, 0, mark))
		got := drain(t, cons, 100)
		require.Len(t, got, 50-10*k, "seek to mark %d", k)
		require.EqualValues(t, 10*k, got[0].ID.EntryNumber)
	}
	require.NoError(t, cons.SeekToTime(ctx, 0, time.Now().Add(time.Hour)))
	require.Empty(t, drain(t, cons, 100))
	require.NoError(t, cons.SeekToTime(ctx, 0, time.Unix(0, 0)))
	require.Len(t, drain(t, cons, 100), 50)
}

func TestConsumer_Assignment_SplitsShardsAmongWorkers(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	for shard := range uint32(6) {
		_, err := c.Append(context.Background(), ShardStreamName("logs", "v1", shard), [][]byte{[]byte("x")})
		require.NoError(t, err)
	}
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	var seen [3][]uint32
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var total atomic.Int64
	for w := range 3 {
		wg.Go(func() {
			err := cons.Process(ctx, func(_ context.Context, msgs []StreamMessage) error {
				mu.Lock()
				seen[w] = append(seen[w], msgs[0].ID.ShardID)
				mu.Unlock()
				if total.Add(int64(len(msgs))) == 6 {
					cancel()
				}
				return nil
			}, WithConsumerAssignment(w, 3), WithPollInterval(10*time.Millisecond))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	for w := range 3 {
		require.ElementsMatch(t, []uint32{uint32(w), uint32(w + 3)}, seen[w], "worker %d", w)
	}
}

func TestConsumer_Process_RetriesSameBatchThenAcks(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	appendN(t, c, "logs:v1:shard:0000", 30, 10, 30)
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls [][]MessageID
	var errs []int
	err := cons.Process(ctx, func(_ context.Context, msgs []StreamMessage) error {
		calls = append(calls, idsOf(msgs))
		if len(calls) <= 2 {
			return errors.New("downstream unavailable")
		}
		if len(calls) == 5 {
			cancel()
		}
		return nil
	}, WithBatchSize(10), WithRetryDelay(time.Millisecond), WithErrorHandler(func(_ error, n int) { errs = append(errs, n) }))
	require.NoError(t, err)
	require.Equal(t, calls[0], calls[1])
	require.Equal(t, calls[0], calls[2], "the failed batch is retried unchanged")
	require.Equal(t, []int{1, 2}, errs)
	require.EqualValues(t, 10, calls[3][0].EntryNumber)
	lag, err := cons.GetLag(context.Background(), 0)
	require.NoError(t, err)
	require.Zero(t, lag, "every batch that succeeded was acknowledged")
}

func TestConsumer_Process_StopsAfterMaxRetriesWithoutAck(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	appendN(t, c, "logs:v1:shard:0000", 5, 10, 5)
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	calls := 0
	err := cons.Process(context.Background(), func(context.Context, []StreamMessage) error {
		calls++
		return errors.New("boom")
	}, WithMaxRetries(2), WithRetryDelay(time.Millisecond))
	require.ErrorContains(t, err, "handler failed 3 times on entries 0-4 of shard 0")
	require.Equal(t, 3, calls)
	lag, _ := cons.GetLag(context.Background(), 0)
	require.EqualValues(t, 5, lag)
}

func TestConsumer_Process_WokenByAppendWithoutPolling(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan time.Time, 1)
	done := make(chan error)
	go func() {
		done <- cons.Process(ctx, func(context.Context, []StreamMessage) error {
			got <- time.Now()
			return nil
		}, WithPollInterval(time.Hour))
	}()
	time.Sleep(50 * time.Millisecond) // let Process go idle
	sent := time.Now()
	_, err := c.Append(context.Background(), "logs:v1:shard:0000", [][]byte{[]byte("wake up")})
	require.NoError(t, err)
	select {
	case at := <-got:
		require.Less(t, at.Sub(sent), time.Second, "an append in this process wakes the consumer")
	case <-time.After(5 * time.Second):
		t.Fatal("not delivered: the consumer was not woken")
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "a cancelled context stops Process cleanly")
	case <-time.After(5 * time.Second):
		t.Fatal("Process did not stop after cancel")
	}
}

func TestConsumer_InvalidOptions_AreReported(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	for _, opts := range []ConsumerOptions{
		{Group: "", Stream: "logs:v1:shard:*"},
		{Group: "g", Stream: "logs:v1:*"},
		{Group: "g", Stream: "../x:v1:shard:*"},
		{Group: "g", Stream: "logs:v1:shard:*", Start: 7},
		{Group: "g"},
	} {
		_, err := NewConsumer(c, opts).Read(context.Background(), nil, 1)
		require.Error(t, err, "%+v", opts)
	}
	cons := NewConsumer(c, ConsumerOptions{Group: "g"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.NoError(t, cons.Process(ctx, func(context.Context, []StreamMessage) error { return nil }, WithStream("logs:v1:shard:*")),
		"WithStream binds a consumer created without a stream")
}
