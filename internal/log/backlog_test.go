// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConsumer_OldestUnackedTime_FollowsTheGroupOffset(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	ctx := context.Background()
	stream := "logs:v1:shard:0000"
	var times []time.Time
	for i := range 40 { // several index intervals and segments apart
		before := time.Now()
		_, err := c.Append(ctx, stream, [][]byte{payload(0, i, 4<<10)})
		require.NoError(t, err)
		times = append(times, before)
		time.Sleep(time.Millisecond)
	}
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	defer cons.Close()

	got, ok, err := cons.OldestUnackedTime(ctx, 0)
	require.NoError(t, err)
	require.True(t, ok, "a group that never read is behind by the oldest entry")
	assert.False(t, got.Before(times[0]))
	assert.True(t, got.Before(times[1]))

	require.NoError(t, cons.Ack(ctx, MessageID{ShardID: 0, EntryNumber: 29}))
	got, ok, err = cons.OldestUnackedTime(ctx, 0)
	require.NoError(t, err)
	require.True(t, ok)
	assert.False(t, got.Before(times[30]), "entry 30 is the oldest unacknowledged one")
	assert.True(t, got.Before(times[31]))

	require.NoError(t, cons.Ack(ctx, MessageID{ShardID: 0, EntryNumber: 39}))
	_, ok, err = cons.OldestUnackedTime(ctx, 0)
	require.NoError(t, err)
	assert.False(t, ok, "nothing is unacknowledged")
	_, ok, err = cons.OldestUnackedTime(ctx, 7)
	require.NoError(t, err)
	assert.False(t, ok, "a shard that does not exist has no backlog")
}

func TestConsumer_Process_MaxBatchBytesBoundsEachBatch(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := "logs:v1:shard:0000"
	want := appendN(t, c, stream, 50, 1000, 7)
	big := make([]byte, 5000) // larger than the byte bound: a batch of its own
	_, err := c.Append(ctx, stream, [][]byte{big})
	require.NoError(t, err)
	want = append(want, big)

	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	defer cons.Close()
	var mu sync.Mutex
	var got [][]byte
	var sizes []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = cons.Process(ctx, func(_ context.Context, msgs []StreamMessage) error {
			mu.Lock()
			defer mu.Unlock()
			bytes := 0
			for _, m := range msgs {
				got = append(got, m.Data)
				bytes += len(m.Data)
			}
			sizes = append(sizes, bytes)
			if len(got) == len(want) {
				cancel()
			}
			return nil
		}, WithBatchSize(100), WithMaxBatchBytes(3000))
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cancel()
		<-done
		t.Fatal("Process did not deliver every entry")
	}
	assert.Equal(t, want, got, "every entry, in order")
	for i, n := range sizes[:len(sizes)-1] {
		assert.LessOrEqual(t, n, 3000, "batch %d", i)
	}
	assert.Equal(t, 5000, sizes[len(sizes)-1], "an entry above the bound is delivered alone")
}
