// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// batchSeen is one handler call of a lingering Process.
type batchSeen struct {
	at  time.Time
	ids []MessageID
}

// processInBackground runs Process with opts until the test ends and
// reports each handler call on the returned channel.
func processInBackground(t *testing.T, cons *Consumer, opts ...ProcessOption) <-chan batchSeen {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan batchSeen, 100)
	done := make(chan error, 1)
	go func() {
		done <- cons.Process(ctx, func(_ context.Context, msgs []StreamMessage) error {
			seen <- batchSeen{at: time.Now(), ids: idsOf(msgs)}
			return nil
		}, opts...)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("Process did not stop after cancel")
		}
	})
	return seen
}

func nextBatch(t *testing.T, seen <-chan batchSeen, within time.Duration) batchSeen {
	t.Helper()
	select {
	case b := <-seen:
		return b
	case <-time.After(within):
		t.Fatalf("no batch delivered within %s", within)
		return batchSeen{}
	}
}

func TestLinger_SmallBatchesAreHeldAndDeliveredTogether(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	const wait = 300 * time.Millisecond
	seen := processInBackground(t, cons, WithBatchSize(100), WithLinger(1<<20, wait))
	time.Sleep(50 * time.Millisecond) // let Process go idle

	first := time.Now()
	for i := range 3 {
		appendN(t, c, "logs:v1:shard:0000", 1, 10, 1)
		if i < 2 {
			time.Sleep(wait / 6)
		}
	}
	b := nextBatch(t, seen, 10*time.Second)
	require.GreaterOrEqual(t, b.at.Sub(first), wait, "a small batch waits out the linger")
	require.Len(t, b.ids, 3, "records appended while the shard was held come in the same batch")
	require.EqualValues(t, 2, b.ids[2].EntryNumber)

	eventually(t, 5*time.Second, func() bool {
		lag, err := cons.GetLag(context.Background(), 0)
		return err == nil && lag == 0
	}, "the held batch is acknowledged once delivered")
}

func TestLinger_FullBatchesAreNotHeld(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []ProcessOption
		n, size int
		batches []int // the full batches, delivered at once
	}{
		{"by count", []ProcessOption{WithBatchSize(10), WithLinger(1<<20, time.Hour)}, 25, 10, []int{10, 10}},
		{"by min bytes", []ProcessOption{WithBatchSize(1000), WithLinger(500, time.Hour)}, 6, 100, []int{6}},
		{"by max batch bytes", []ProcessOption{WithBatchSize(1000), WithMaxBatchBytes(300), WithLinger(1<<20, time.Hour)}, 7, 100, []int{3, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := openClient(t, t.TempDir(), testConfig())
			appendN(t, c, "logs:v1:shard:0000", tc.n, tc.size, tc.n)
			cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
			seen := processInBackground(t, cons, tc.opts...)
			// Only the last, partial batch would wait an hour.
			next := int64(0)
			for _, want := range tc.batches {
				b := nextBatch(t, seen, 10*time.Second)
				require.Len(t, b.ids, want)
				require.Equal(t, next, b.ids[0].EntryNumber)
				next += int64(want)
			}
			select {
			case b := <-seen:
				t.Fatalf("the partial batch %v was not held", b.ids)
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

func TestLinger_HeldShardDoesNotDelayOthers(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	appendN(t, c, "logs:v1:shard:0000", 1, 10, 1) // small: held for an hour
	seen := processInBackground(t, cons, WithBatchSize(5), WithLinger(1<<20, time.Hour))
	time.Sleep(50 * time.Millisecond)
	appendN(t, c, "logs:v1:shard:0001", 5, 10, 5) // full: delivered at once
	b := nextBatch(t, seen, 10*time.Second)
	require.Len(t, b.ids, 5)
	require.EqualValues(t, 1, b.ids[0].ShardID)
}

func TestLinger_InvalidOptionsAreReported(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	err := cons.Process(context.Background(), func(context.Context, []StreamMessage) error { return nil },
		WithLinger(-1, time.Second))
	require.ErrorContains(t, err, "WithLinger")
}

// A caught-up consumer reads empty shards over and over; such reads must
// not allocate room for a full batch each time (they did: 56 KiB per
// read of an empty shard, a tenth of a busy collector's CPU).
func TestRead_EmptyShardAllocatesLittle(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	appendN(t, c, "logs:v1:shard:0000", 1, 10, 1)
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	require.Len(t, drain(t, cons, 10), 1)
	p := processConfig{batchSize: 4096, batchBytes: 1 << 20}
	ctx := context.Background()
	var empty []StreamMessage
	allocated := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			msgs, err := cons.readBatch(ctx, 0, &p)
			if err != nil || len(msgs) != 0 {
				b.Fatalf("read %d messages, err %v", len(msgs), err)
			}
			empty = msgs
		}
	}).AllocedBytesPerOp()
	require.Empty(t, empty)
	require.Less(t, allocated, int64(1024), "bytes allocated per read of an empty shard")
}
