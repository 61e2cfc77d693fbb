// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConsumer_StartByTime_NewGroupStartsAtTheTimeExistingGroupKeepsItsOffset(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	ctx := context.Background()
	stream := "logs:v1:shard:0000"
	appendN(t, c, stream, 20, 4<<10, 5)
	time.Sleep(5 * time.Millisecond)
	mid := time.Now()
	time.Sleep(5 * time.Millisecond)
	later := appendN(t, c, stream, 20, 4<<10, 5)

	old := NewConsumer(c, ConsumerOptions{Group: "old", Stream: "logs:v1:shard:*"})
	defer old.Close()
	require.NoError(t, old.Ack(ctx, MessageID{ShardID: 0, EntryNumber: 4}))

	for _, group := range []string{"new", "old"} {
		cons := NewConsumer(c, ConsumerOptions{Group: group, Stream: "logs:v1:shard:*", Start: StartByTime, StartTime: mid})
		require.NoError(t, cons.Register(ctx))
		msgs := drain(t, cons, 100)
		require.NoError(t, cons.Close())
		switch group {
		case "new":
			require.Len(t, msgs, 20, "a new group replays from the start time")
			assert.Equal(t, int64(20), msgs[0].ID.EntryNumber)
			assert.Equal(t, later[0], msgs[0].Data)
		case "old":
			require.Len(t, msgs, 35, "an existing group keeps its offset")
			assert.Equal(t, int64(5), msgs[0].ID.EntryNumber)
		}
	}

	before := NewConsumer(c, ConsumerOptions{Group: "all", Stream: "logs:v1:shard:*", Start: StartByTime, StartTime: mid.Add(-time.Hour)})
	defer before.Close()
	assert.Len(t, drain(t, before, 100), 40, "a time before the oldest entry replays everything")
	after := NewConsumer(c, ConsumerOptions{Group: "none", Stream: "logs:v1:shard:*", Start: StartByTime, StartTime: time.Now().Add(time.Hour)})
	defer after.Close()
	assert.Empty(t, drain(t, after, 100), "a time after the newest entry starts at the end")
}
