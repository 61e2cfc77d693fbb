// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
)

func init() {
	childRoles["mpbench"] = runMultiProcessBenchChild
}

// benchWriterBatch is the batch of the multi-process benchmarks: 100
// entries of 100 bytes, the collector's usual request of small records.
const (
	benchWriterBatch = 100
	benchWriterSize  = 100
)

func multiProcessBenchConfig(multi bool) CometConfig {
	cfg := benchConfig(SyncNone)
	if multi {
		cfg.Concurrency.EnableMultiProcessMode = true
		cfg.Concurrency.ProcessSlots = 4
	}
	return cfg
}

// BenchmarkAppendMultiProcessMode is BenchmarkAppend's 100 x 100 B case
// (sync none) for a single writer and for one writer in multi-process
// mode: the cost of the mode per batch.
func BenchmarkAppendMultiProcessMode(b *testing.B) {
	for _, multi := range []bool{false, true} {
		b.Run(fmt.Sprintf("multi_process=%t", multi), func(b *testing.B) {
			c, err := NewClientWithConfig(b.TempDir(), multiProcessBenchConfig(multi))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			stream := ShardStreamName("bench", "v1", c.OwnedShards(4)[0])
			batch := benchBatch(benchWriterBatch, benchWriterSize)
			b.SetBytes(benchWriterBatch * benchWriterSize)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.Append(context.Background(), stream, batch); err != nil {
					b.Fatal(err)
				}
			}
			reportEntries(b, int64(b.N)*benchWriterBatch)
		})
	}
}

// BenchmarkMultiProcessWriters is the aggregate append throughput of 1, 2
// and 4 writer processes on one directory (4 slots, 4 shards: one shard
// per process), each appending its share of b.N batches of 100 x 100 B
// (sync none). Process start-up is not timed: the clock runs from the
// moment every writer is ready until the last one is done.
func BenchmarkMultiProcessWriters(b *testing.B) {
	for _, procs := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("procs=%d", procs), func(b *testing.B) {
			dir := b.TempDir()
			per := (b.N + procs - 1) / procs
			type child struct {
				stdin *bufio.Writer
				close func() error
				lines *bufio.Scanner
				wait  func() error
			}
			var children []child
			for range procs {
				cmd := childCommand("mpbench", "COMET_DIR="+dir, "COMET_N="+strconv.Itoa(per))
				in, err := cmd.StdinPipe()
				if err != nil {
					b.Fatal(err)
				}
				out, err := cmd.StdoutPipe()
				if err != nil {
					b.Fatal(err)
				}
				cmd.Stderr = os.Stderr
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				ch := child{stdin: bufio.NewWriter(in), close: in.Close, lines: bufio.NewScanner(out), wait: cmd.Wait}
				if !ch.lines.Scan() || ch.lines.Text() != "ready" {
					b.Fatalf("writer did not start: %q", ch.lines.Text())
				}
				children = append(children, ch)
			}
			b.SetBytes(benchWriterBatch * benchWriterSize)
			b.ResetTimer()
			for _, ch := range children {
				_, _ = ch.stdin.WriteString("go\n")
				_ = ch.stdin.Flush()
			}
			for _, ch := range children {
				if !ch.lines.Scan() || ch.lines.Text() != "done" {
					b.Fatalf("writer failed: %q", ch.lines.Text())
				}
			}
			b.StopTimer()
			for _, ch := range children {
				_ = ch.close()
				if err := ch.wait(); err != nil {
					b.Fatal(err)
				}
			}
			reportEntries(b, int64(per*procs)*benchWriterBatch)
		})
	}
}

// runMultiProcessBenchChild takes a writer slot, says "ready", and on
// "go" appends COMET_N batches to its slot's shard, then says "done" and
// closes when stdin does.
func runMultiProcessBenchChild() error {
	c, err := NewClientWithConfig(os.Getenv("COMET_DIR"), multiProcessBenchConfig(true))
	if err != nil {
		return err
	}
	defer c.Close()
	n, _ := strconv.Atoi(os.Getenv("COMET_N"))
	stream := ShardStreamName("bench", "v1", c.OwnedShards(4)[0])
	batch := benchBatch(benchWriterBatch, benchWriterSize)
	in := bufio.NewReader(os.Stdin)
	fmt.Println("ready")
	if _, err := in.ReadString('\n'); err != nil {
		return err
	}
	for range n {
		if _, err := c.Append(context.Background(), stream, batch); err != nil {
			return err
		}
	}
	fmt.Println("done")
	_, _ = in.ReadString('\n')
	return nil
}
