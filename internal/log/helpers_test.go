// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// testConfig is a small-segment configuration that exercises rotation.
func testConfig() CometConfig {
	cfg := DefaultCometConfig()
	cfg.Durability.Mode = SyncNone
	cfg.Storage.MaxFileSize = 64 << 10
	cfg.Indexing.BoundaryInterval = 8
	return cfg
}

// openClient opens a client in dir and closes it at the end of the test.
func openClient(t testing.TB, dir string, cfg CometConfig) *Client {
	t.Helper()
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// observedConfig returns cfg with a logger whose entries the test can read.
func observedConfig(cfg CometConfig) (CometConfig, *observer.ObservedLogs) {
	core, logs := observer.New(zap.DebugLevel)
	cfg.Logger = zap.New(core)
	return cfg, logs
}

// payload is a deterministic, self-describing entry.
func payload(shard uint32, i int, size int) []byte {
	p := make([]byte, size)
	copy(p, fmt.Sprintf("s%d-e%d|", shard, i))
	for j := len(fmt.Sprintf("s%d-e%d|", shard, i)); j < size; j++ {
		p[j] = byte('a' + (i+j)%26)
	}
	return p
}

// appendN appends n entries one batch at a time and returns their payloads.
func appendN(t testing.TB, c *Client, stream string, n, size, batch int) [][]byte {
	t.Helper()
	var all [][]byte
	for i := 0; i < n; i += batch {
		var entries [][]byte
		for j := i; j < min(i+batch, n); j++ {
			entries = append(entries, payload(0, j, size))
		}
		_, err := c.Append(context.Background(), stream, entries)
		require.NoError(t, err)
		all = append(all, entries...)
	}
	return all
}

// drain reads and acknowledges everything currently readable on the
// consumer's shards, with a bounded number of reads.
func drain(t testing.TB, cons *Consumer, batch int) []StreamMessage {
	t.Helper()
	var out []StreamMessage
	for range 1_000_000 {
		msgs, err := cons.Read(context.Background(), nil, batch)
		require.NoError(t, err)
		if len(msgs) == 0 {
			return out
		}
		out = append(out, msgs...)
		ids := make([]MessageID, len(msgs))
		for i, m := range msgs {
			ids[i] = m.ID
		}
		require.NoError(t, cons.Ack(context.Background(), ids...))
	}
	t.Fatal("drain did not finish")
	return nil
}

// eventually polls cond for up to d.
func eventually(t testing.TB, d time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal(msg)
}
