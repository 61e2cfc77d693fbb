// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
)

// A caller that deletes segments of a stream no consumer group reads (comet_storage's
// reclamation) decided the records were not needed: nothing is dropped, nothing is logged
// as lost.
func TestClient_DeleteSegment_WithoutGroupsDropsNothing(t *testing.T) {
	cfg, logs := observedConfig(testConfig())
	cfg.Storage.MaxFileSize = 4096
	c := openClient(t, t.TempDir(), cfg)
	stream := "kv:v1:shard:0000"
	appendN(t, c, stream, 100, 200, 1)
	segs, err := c.Segments(stream)
	require.NoError(t, err)
	require.Greater(t, len(segs), 2)

	require.NoError(t, c.DeleteSegment(stream, segs[0].FirstEntry))
	require.Zero(t, c.GetStats().DroppedUnconsumed)
	require.Zero(t, logs.FilterLevelExact(zapcore.ErrorLevel).Len(), "no error logged: %v", logs.All())
}

// A group that has not acknowledged a segment a caller deletes still sees the loss counted.
func TestClient_DeleteSegment_CountsWhatAGroupHadNotAcknowledged(t *testing.T) {
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 4096
	c := openClient(t, t.TempDir(), cfg)
	stream := "kv:v1:shard:0000"
	appendN(t, c, stream, 100, 200, 1)
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "kv:v1:shard:*"})
	_, err := cons.Read(context.Background(), []uint32{0}, 1)
	require.NoError(t, err)
	segs, err := c.Segments(stream)
	require.NoError(t, err)

	require.NoError(t, c.DeleteSegment(stream, segs[0].FirstEntry))
	require.Equal(t, segs[1].FirstEntry, c.GetStats().DroppedUnconsumed)
}
