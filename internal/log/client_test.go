// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClient_Append_ReturnsConsecutiveIDsAndReadsBack(t *testing.T) {
	c := openClient(t, t.TempDir(), testConfig())
	ctx := context.Background()
	ids, err := c.Append(ctx, "logs:v1:shard:0003", [][]byte{[]byte("a"), []byte("bb"), {}})
	require.NoError(t, err)
	require.Equal(t, []MessageID{{0, 3}, {1, 3}, {2, 3}}, ids)
	ids, err = c.Append(ctx, "logs:v1:shard:3", [][]byte{[]byte("d")})
	require.NoError(t, err)
	require.Equal(t, []MessageID{{3, 3}}, ids, "a non-canonical name reaches the same shard")

	n, err := c.Len(ctx, "logs:v1:shard:0003")
	require.NoError(t, err)
	require.EqualValues(t, 4, n)

	msgs := drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"}), 10)
	require.Len(t, msgs, 4)
	for i, want := range []string{"a", "bb", "", "d"} {
		assert.Equal(t, want, string(msgs[i].Data))
		assert.NotNil(t, msgs[i].Data, "an empty entry reads back non-nil")
		assert.Equal(t, "logs:v1:shard:0003", msgs[i].Stream)
		assert.Equal(t, MessageID{int64(i), 3}, msgs[i].ID)
	}
}

func TestClient_Append_ConcurrentWritersToOneShard(t *testing.T) {
	const writers, perWriter = 8, 10_000
	c := openClient(t, t.TempDir(), testConfig())
	stream := "traces:v1:shard:0000"
	var mu sync.Mutex
	sent := map[int64][]byte{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				p := payload(uint32(w), i, 40+(i%50))
				var batch [][]byte
				if i%7 == 0 { // mix single entries and small batches
					batch = [][]byte{p, payload(uint32(w), -i, 10)}
				} else {
					batch = [][]byte{p}
				}
				ids, err := c.Append(context.Background(), stream, batch)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				for k, id := range ids {
					if _, dup := sent[id.EntryNumber]; dup {
						t.Errorf("entry number %d returned twice", id.EntryNumber)
					}
					sent[id.EntryNumber] = batch[k]
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	got := drain(t, NewConsumer(c, ConsumerOptions{Group: "check", Stream: "traces:v1:shard:*"}), 1000)
	require.Len(t, got, len(sent))
	for i, m := range got {
		require.EqualValues(t, i, m.ID.EntryNumber, "entries come back in order, without gaps")
		require.True(t, bytes.Equal(sent[m.ID.EntryNumber], m.Data), "entry %d holds another entry's payload", i)
	}
	require.Greater(t, c.GetStats().Rotations, int64(10), "the test must cross segment boundaries")
}

func TestClient_Reopen_ResumesNumberingAndKeepsData(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	want := appendN(t, c, "logs:v1:shard:0001", 3000, 100, 37)
	require.NoError(t, c.Close())

	c = openClient(t, dir, cfg)
	ids, err := c.Append(context.Background(), "logs:v1:shard:0001", [][]byte{[]byte("after")})
	require.NoError(t, err)
	require.EqualValues(t, 3000, ids[0].EntryNumber)
	got := drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:0001"}), 500)
	require.Len(t, got, 3001)
	for i := range want {
		require.Equal(t, want[i], got[i].Data)
	}
	require.Equal(t, "after", string(got[3000].Data))
	require.Zero(t, c.GetStats().Truncations, "a clean close leaves nothing to repair")
}

func TestClient_Rotation_AtMaxFileSize(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 1000
	c := openClient(t, dir, cfg)
	stream := "logs:v1:shard:0000"
	// 120-byte records: 8 fit in 1000 bytes, the 9th starts a new segment.
	appendN(t, c, stream, 8, 100, 1)
	require.EqualValues(t, 0, c.GetStats().Rotations)
	appendN(t, c, stream, 1, 100, 1)
	require.EqualValues(t, 1, c.GetStats().Rotations)
	// A batch larger than a segment goes into a fresh segment of its own.
	appendN(t, c, stream, 20, 100, 20)
	require.EqualValues(t, 2, c.GetStats().Rotations)
	appendN(t, c, stream, 1, 100, 1)
	require.EqualValues(t, 3, c.GetStats().Rotations)
	require.NoError(t, c.Close())

	shardDir := filepath.Join(dir, "logs", "v1", "shard-0000")
	for _, name := range []string{"log-0000000000000000.comet", "log-0000000000000008.comet", "log-0000000000000009.comet", "log-0000000000000029.comet",
		"log-0000000000000000.index", "log-0000000000000008.index", "log-0000000000000009.index"} {
		require.FileExists(t, filepath.Join(shardDir, name))
	}
	info, err := os.Stat(filepath.Join(shardDir, "log-0000000000000009.comet"))
	require.NoError(t, err)
	require.EqualValues(t, 20*120, info.Size())

	c2 := openClient(t, dir, cfg)
	got := drain(t, NewConsumer(c2, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"}), 7)
	require.Len(t, got, 30)
	for i, m := range got {
		require.EqualValues(t, i, m.ID.EntryNumber)
	}
}

func TestClient_Namespaces_AreSeparateLogs(t *testing.T) {
	dir := t.TempDir()
	c := openClient(t, dir, testConfig())
	ctx := context.Background()
	_, err := c.Append(ctx, "traces:v1:shard:0003", [][]byte{[]byte("span")})
	require.NoError(t, err)
	_, err = c.Append(ctx, "logs:v1:shard:0003", [][]byte{[]byte("log1"), []byte("log2")})
	require.NoError(t, err)
	require.DirExists(t, filepath.Join(dir, "traces", "v1", "shard-0003"))
	require.DirExists(t, filepath.Join(dir, "logs", "v1", "shard-0003"))

	traces := drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "traces:v1:shard:*"}), 10)
	require.Len(t, traces, 1)
	require.Equal(t, "span", string(traces[0].Data))
	logs := drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"}), 10)
	require.Len(t, logs, 2)
}

func TestClient_SecondWriter_GetsLockErrorNamingHolder(t *testing.T) {
	dir := t.TempDir()
	openClient(t, dir, testConfig())
	_, err := NewClientWithConfig(dir, testConfig())
	require.ErrorIs(t, err, ErrLocked)
	require.Contains(t, err.Error(), filepath.Join(dir, lockFileName))
	require.Contains(t, err.Error(), fmt.Sprintf("process %d", os.Getpid()))
}

func TestClient_Append_RejectsEntryAboveMaxEntrySize(t *testing.T) {
	cfg := testConfig()
	cfg.Storage.MaxEntrySize = 1000
	c := openClient(t, t.TempDir(), cfg)
	_, err := c.Append(context.Background(), "logs:v1:shard:0000", [][]byte{[]byte("ok"), make([]byte, 1001)})
	require.ErrorIs(t, err, ErrEntryTooLarge)
	require.Contains(t, err.Error(), "entry 1")
	n, err := c.Len(context.Background(), "logs:v1:shard:0000")
	require.NoError(t, err)
	require.Zero(t, n, "nothing of a rejected batch is written")
}

func TestClient_Append_RejectsInvalidStreamNames(t *testing.T) {
	dir := t.TempDir()
	c := openClient(t, dir, testConfig())
	for _, name := range []string{"", "logs", "logs:v1:shard", "logs:v1:part:0001", "../x:v1:shard:0001",
		"logs:..:shard:0001", "lo/gs:v1:shard:1", "logs:v1:shard:-1", "logs:v1:shard:99999999999", "logs:v1:shard:*",
		"_logs:v1:shard:1", "logs:v 1:shard:1"} {
		_, err := c.Append(context.Background(), name, [][]byte{[]byte("x")})
		require.ErrorIs(t, err, ErrInvalidStream, name)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	require.ElementsMatch(t, []string{lockFileName, formatFileName, policyFileName}, names, "only the lock file, the format marker and the policy: no invalid name reached the filesystem")
}

func TestClient_Files_HaveRestrictivePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c := openClient(t, dir, testConfig())
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"})
	appendN(t, c, "logs:v1:shard:0000", 10, 10, 1)
	drain(t, cons, 10)
	require.NoError(t, filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		require.NoError(t, err)
		if info.IsDir() {
			assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), path)
		} else {
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), path)
		}
		return nil
	}))
}

func TestClient_Append_ZstdMagicPayloadRoundTripsUnchanged(t *testing.T) {
	for _, codec := range []Codec{CodecNone, CodecZstd} {
		cfg := testConfig()
		cfg.Compression = CompressionConfig{Codec: codec, MinCompressSize: 64}
		c := openClient(t, t.TempDir(), cfg)
		magic := []byte{0x28, 0xb5, 0x2f, 0xfd}
		entries := [][]byte{
			append(append([]byte{}, magic...), []byte("not a zstd frame")...),
			append(append([]byte{}, magic...), bytes.Repeat([]byte("compressible "), 100)...),
			magic,
		}
		_, err := c.Append(context.Background(), "logs:v1:shard:0000", entries)
		require.NoError(t, err)
		got := drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"}), 10)
		require.Len(t, got, 3)
		for i := range entries {
			require.Equal(t, entries[i], got[i].Data, "codec %d entry %d", codec, i)
		}
	}
}
