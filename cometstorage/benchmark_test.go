// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// Benchmarks of comet_storage and contrib's file_storage (bbolt) on the
// same workloads, in the same run:
//
//	go test ./cometstorage -run '^$' -bench 'Client|QueuePattern' -benchtime 10000x
//	go test ./cometstorage -run '^$' -bench 'PersistentQueue' -benchtime 50000x
//	go test ./cometstorage -run '^$' -bench 'BacklogDrain|KeyDirectoryMemory' -benchtime 1x
//
// Backends: comet_storage under each sync mode; file_storage with fsync
// off (its default) and on; and, for the queue, a plain in-memory map,
// the persistent queue's own ceiling.

type backend struct {
	name string
	// start returns a started storage extension on dir.
	start func(b *testing.B, dir string) storage.Extension
}

func cometBackend(mode SyncMode) backend {
	return backend{name: "comet_" + string(mode), start: func(b *testing.B, dir string) storage.Extension {
		cfg := createDefaultConfig().(*Config)
		cfg.Directory = dir
		cfg.Sync.Mode = mode
		return newTestExtension(b, cfg)
	}}
}

func fileStorageBackend(fsync bool) backend {
	name := "file_storage_nofsync"
	if fsync {
		name = "file_storage_fsync"
	}
	return backend{name: name, start: func(b *testing.B, dir string) storage.Extension {
		return startFileStorage(b, dir, fsync)
	}}
}

var memoryBackend = backend{name: "memory_map", start: func(*testing.B, string) storage.Extension { return mapStorage{} }}

// clientBackends are compared on client operations.
var clientBackends = []backend{cometBackend(SyncNone), cometBackend(SyncAlways), fileStorageBackend(false), fileStorageBackend(true)}

// queueBackends are compared through exporterhelper's persistent queue.
var queueBackends = []backend{
	memoryBackend,
	cometBackend(SyncNone), cometBackend(SyncInterval), cometBackend(SyncAlways),
	fileStorageBackend(false), fileStorageBackend(true),
}

func openBenchClient(b *testing.B, be backend) storage.Client {
	ext := be.start(b, b.TempDir())
	c, err := ext.GetClient(context.Background(), component.KindExporter, testOwner, testStorageName)
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, c.Close(context.Background())) })
	return c
}

func reportRate(b *testing.B, unit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// BenchmarkClient measures Set, Get and Delete of 1 KiB and 64 KiB values.
func BenchmarkClient(b *testing.B) {
	ctx := context.Background()
	for _, size := range []int{1 << 10, 64 << 10} {
		value := bytes.Repeat([]byte{0x5a}, size)
		for _, be := range clientBackends {
			prefix := fmt.Sprintf("%dKiB/%s", size>>10, be.name)
			b.Run(prefix+"/set", func(b *testing.B) {
				c := openBenchClient(b, be)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					require.NoError(b, c.Set(ctx, fmt.Sprint(i), value))
					i++
				}
				reportRate(b, "ops/s")
			})
			b.Run(prefix+"/get", func(b *testing.B) {
				c := openBenchClient(b, be)
				const keys = 1000
				for i := range keys {
					require.NoError(b, c.Set(ctx, fmt.Sprint(i), value))
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					v, err := c.Get(ctx, fmt.Sprint(i%keys))
					if err != nil || len(v) != size {
						b.Fatalf("get: %d bytes, %v", len(v), err)
					}
					i++
				}
				reportRate(b, "ops/s")
			})
			b.Run(prefix+"/delete", func(b *testing.B) {
				// Every delete needs a value written first (untimed); at
				// microseconds per delete, a time-based run would write
				// tens of GiB.
				if int64(b.N)*int64(size) > 4<<30 {
					b.Skipf("%d deletes would first write %d GiB: run with -benchtime 10000x", b.N, int64(b.N)*int64(size)>>30)
				}
				c := openBenchClient(b, be)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					b.StopTimer()
					require.NoError(b, c.Set(ctx, fmt.Sprint(i), value))
					b.StartTimer()
					require.NoError(b, c.Delete(ctx, fmt.Sprint(i)))
					i++
				}
				reportRate(b, "ops/s")
			})
		}
	}
}

// BenchmarkQueuePattern runs the storage calls the persistent queue makes
// per request (exporterhelper v0.162 persistent_queue.go): offer
// Batch{Set meta, Set item}, read Batch{Set meta, Get item}, done
// Batch{Set meta, Delete item}, with 1200-byte items and a backlog of
// 1000 requests. One op is one request's three batches.
func BenchmarkQueuePattern(b *testing.B) {
	ctx := context.Background()
	item := bytes.Repeat([]byte{0x42}, 1200)
	for _, be := range append([]backend{memoryBackend}, clientBackends...) {
		b.Run(be.name, func(b *testing.B) {
			c := openBenchClient(b, be)
			meta := make([]byte, 24)
			const backlog = 1000
			for i := range backlog {
				require.NoError(b, c.Batch(ctx, storage.SetOperation("qmv0", meta), storage.SetOperation(fmt.Sprint(i), item)))
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				meta[0]++
				require.NoError(b, c.Batch(ctx, storage.SetOperation("qmv0", meta), storage.SetOperation(fmt.Sprint(i+backlog), item)))
				get := storage.GetOperation(fmt.Sprint(i))
				require.NoError(b, c.Batch(ctx, storage.SetOperation("qmv0", meta), get))
				if len(get.Value) != len(item) {
					b.Fatalf("item %d: %d bytes", i, len(get.Value))
				}
				require.NoError(b, c.Batch(ctx, storage.SetOperation("qmv0", meta), storage.DeleteOperation(fmt.Sprint(i))))
				i++
			}
			reportRate(b, "req/s")
		})
	}
}

// BenchmarkPersistentQueue pushes 10-record log requests through an
// exporterhelper exporter whose sending_queue is persistent on each
// backend (10 consumers, no batching, downstream always succeeds) and
// reports requests per second from the first offer to the last delivery.
func BenchmarkPersistentQueue(b *testing.B) {
	for _, be := range queueBackends {
		b.Run(be.name, func(b *testing.B) {
			ext := be.start(b, b.TempDir())
			rec := newRecorder()
			exp := startQueueExporter(b, ext, rec.push)
			b.ReportAllocs()
			b.ResetTimer()
			offer(b, exp, 0, b.N, 4)
			rec.waitFor(b, 10*time.Minute, "delivery", func(seen map[int]int) bool { return len(seen) == b.N })
			b.StopTimer()
			reportRate(b, "req/s")
			require.NoError(b, exp.Shutdown(context.Background()))
		})
	}
}

// BenchmarkBacklogDrain queues 100k requests while the downstream is down,
// lets it recover, and reports disk use at the peak and once the backlog
// has drained (after a few seconds for background compaction), in MiB of
// files in the storage directory.
func BenchmarkBacklogDrain(b *testing.B) {
	const requests = 100_000
	for _, be := range []backend{cometBackend(SyncNone), fileStorageBackend(false)} {
		b.Run(be.name, func(b *testing.B) {
			for b.Loop() {
				dir := b.TempDir()
				ext := be.start(b, dir)
				rec := newRecorder()
				rec.failing.Store(true)
				exp := startQueueExporter(b, ext, rec.push)
				offer(b, exp, 0, requests, 4)
				peak := diskBytes(b, dir)
				rec.failing.Store(false)
				rec.waitFor(b, 10*time.Minute, "drain", func(seen map[int]int) bool { return len(seen) == requests })
				after := settledDiskBytes(b, dir, 5*time.Second)
				segments, _ := filepath.Glob(filepath.Join(dir, "*", "kv", "v1", "shard-0000", "*.comet"))
				b.ReportMetric(float64(peak)/(1<<20), "MiB-peak")
				b.ReportMetric(float64(after)/(1<<20), "MiB-drained")
				b.ReportMetric(float64(len(segments)), "segments-drained")
				require.NoError(b, exp.Shutdown(context.Background()))
			}
		})
	}
}

// settledDiskBytes waits up to d for the files under dir to stop shrinking.
func settledDiskBytes(b *testing.B, dir string, d time.Duration) int64 {
	size := diskBytes(b, dir)
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		size = diskBytes(b, dir)
	}
	return size
}

// BenchmarkKeyDirectoryMemory reports the heap the key directory needs per
// live key, with 1M keys named like the queue's ("0", "1", ...).
func BenchmarkKeyDirectoryMemory(b *testing.B) {
	ctx := context.Background()
	const keys = 1_000_000
	value := make([]byte, 16)
	for b.Loop() {
		cfg := testConfig(b.TempDir())
		cfg.Sync.Mode = SyncNone
		cfg.SegmentSize = 64 << 20
		c := openTestClient(b, cfg)
		before := heapInUse()
		ops := make([]*storage.Operation, 0, 1000)
		for i := 0; i < keys; i += 1000 {
			ops = ops[:0]
			for j := i; j < i+1000; j++ {
				ops = append(ops, storage.SetOperation(fmt.Sprint(j), value))
			}
			require.NoError(b, c.Batch(ctx, ops...))
		}
		after := heapInUse()
		n, _ := c.usage()
		require.EqualValues(b, keys, n)
		b.ReportMetric(float64(after-before)/keys, "B/key")
		b.ReportMetric(float64(after-before)/(1<<20), "MiB/1M-keys")
		require.NoError(b, c.Close(ctx))
	}
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// mapStorage is a storage extension over a plain map, the ceiling of the
// persistent queue itself (contrib's storagetest clones its map per batch).
type mapStorage struct {
	component.StartFunc
	component.ShutdownFunc
}

func (mapStorage) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return &mapClient{m: map[string][]byte{}}, nil
}

type mapClient struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *mapClient) Get(ctx context.Context, key string) ([]byte, error) {
	op := storage.GetOperation(key)
	return op.Value, c.Batch(ctx, op)
}

func (c *mapClient) Set(ctx context.Context, key string, value []byte) error {
	return c.Batch(ctx, storage.SetOperation(key, value))
}

func (c *mapClient) Delete(ctx context.Context, key string) error {
	return c.Batch(ctx, storage.DeleteOperation(key))
}

func (c *mapClient) Batch(_ context.Context, ops ...*storage.Operation) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value = c.m[op.Key]
		case storage.Set:
			c.m[op.Key] = op.Value
		case storage.Delete:
			delete(c.m, op.Key)
		default:
			return errors.New("unknown operation")
		}
	}
	return nil
}

func (*mapClient) Close(context.Context) error { return nil }
