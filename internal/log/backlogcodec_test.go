// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compressible is an entry zstd shrinks well.
func compressible(i int) []byte {
	return append([]byte{byte(i)}, bytes.Repeat([]byte("otlp protobuf "), 600)...)
}

func TestAppend_BacklogThreshold_RawWhileConsumersKeepUpCompressedWhenTheyFallBehind(t *testing.T) {
	cfg := testConfig()
	cfg.Compression.BacklogThreshold = 64 << 10 // about 7 entries of 8.4 KB
	c := openClient(t, t.TempDir(), cfg)
	ctx := context.Background()
	stream := "logs:v1:shard:0000"
	var want [][]byte
	appendOne := func(i int) {
		e := compressible(i)
		want = append(want, e)
		_, err := c.Append(ctx, stream, [][]byte{e})
		require.NoError(t, err)
	}

	appendOne(0)
	assert.Equal(t, int64(1), c.GetStats().CompressedEntries, "no consumer group yet: the entry may wait long, so it is compressed")

	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	defer cons.Close()
	drain(t, cons, 10)         // the group exists from its first read
	for i := 1; i <= 20; i++ { // a consumer that reads each entry at once
		appendOne(i)
		drain(t, cons, 10)
	}
	assert.Equal(t, int64(1), c.GetStats().CompressedEntries, "entries a caught-up consumer reads at once are stored raw")

	for i := 21; i <= 60; i++ { // the consumer stops reading
		appendOne(i)
	}
	compressed := c.GetStats().CompressedEntries
	assert.Greater(t, compressed, int64(30), "once the backlog passes the threshold, entries are compressed")
	assert.Less(t, compressed, int64(40))

	var got [][]byte
	all := NewConsumer(c, ConsumerOptions{Group: "check", Stream: "logs:v1:shard:*"})
	defer all.Close()
	for _, m := range drain(t, all, 100) {
		got = append(got, m.Data)
	}
	assert.Equal(t, want, got, "raw and compressed entries read back unchanged")
}
