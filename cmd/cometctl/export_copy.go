// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"

	"github.com/comet-otel/comet/internal/log"
)

// exportResult counts what an export wrote and what it could not.
type exportResult struct {
	records int64 // records written
	bytes   int64 // bytes written
	items   int64 // spans, data points, ... (JSON only: proto records are not decoded)
	// skipped counts entries in the planned ranges that could not be
	// read: damaged, or deleted by retention while the export ran.
	skipped int64
	// undecodable counts records whose checksum holds but that are not a
	// request of the signal (JSON only).
	undecodable int64
}

// copyRecords merges the shards' records in append-time order and writes
// them, up to the limit.
func copyRecords(ctx context.Context, c *log.Client, plans []shardPlan, o *exportOptions, w *exportOutput, out *output) (exportResult, error) {
	var res exportResult
	var total int64
	h := &cursorHeap{}
	cursors := make([]*shardCursor, 0, len(plans))
	defer func() {
		for _, cur := range cursors {
			cur.close()
		}
	}()
	for _, p := range plans {
		cur := openCursor(ctx, c, p)
		cursors = append(cursors, cur)
		total += p.stop - p.start
		if cur.advance() {
			heap.Push(h, cur)
		} else if cur.err != nil {
			return res, cur.err
		}
	}
	prog := newProgress(out.stderr, o.quiet)
	var merged int64 // records taken from the shards, in or out of the time window
	for h.Len() > 0 && (o.limit == 0 || res.records < o.limit) {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		cur := (*h)[0]
		if err := res.write(cur.plan.stream, cur.head, o, w, out); err != nil {
			return res, err
		}
		merged++
		if cur.advance() {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
			if cur.err != nil {
				return res, cur.err
			}
		}
		prog.update(func() string {
			return fmt.Sprintf("export: %d of %d entries read (%.0f%%), %d records and %s written", merged, total, 100*float64(merged)/float64(max(total, 1)), res.records, humanBytes(res.bytes))
		})
	}
	for _, cur := range cursors {
		res.skipped += cur.skipped
	}
	return res, nil
}

// write writes one record if it is in the time window.
func (res *exportResult) write(stream string, r log.Record, o *exportOptions, w *exportOutput, out *output) error {
	if o.from != nil && r.Time.Before(*o.from) || o.to != nil && !r.Time.Before(*o.to) {
		return nil
	}
	var n int
	var err error
	if o.format == "proto" {
		var size [4]byte
		binary.BigEndian.PutUint32(size[:], uint32(len(r.Data)))
		if n, err = w.Write(size[:]); err == nil {
			var m int
			m, err = w.Write(r.Data)
			n += m
		}
	} else {
		j, items, derr := o.sig.ProtoToJSON(r.Data)
		if derr != nil {
			res.undecodable++
			out.warnf("skipping %s entry %d (segment log-%016d.comet, offset %d): %v", stream, r.ID.EntryNumber, r.Segment, r.Offset, derr)
			return nil
		}
		res.items += int64(items)
		if n, err = w.Write(j); err == nil {
			err = w.WriteByte('\n')
			n++
		}
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", w.name, err)
	}
	res.records++
	res.bytes += int64(n)
	return nil
}

// report prints the summary and returns errDamage if records were skipped.
func (res *exportResult) report(o *exportOptions, streams int, out *output) error {
	what := fmt.Sprintf("%d records", res.records)
	if o.format == "json" {
		what += fmt.Sprintf(" (%d %s)", res.items, o.sig.Items)
	}
	dest := o.output
	if dest == "-" {
		dest = "stdout"
	}
	fmt.Fprintf(out.stderr, "cometctl export: wrote %s, %s, from %d shards of %s to %s\n", what, humanBytes(res.bytes), streams, o.sel.label(), dest)
	if res.skipped == 0 && res.undecodable == 0 {
		return nil
	}
	if res.skipped > 0 {
		out.warnf("entries of the exported range skipped because they could not be read: %d: damaged (the warnings above name file and offset; run cometctl verify), or deleted by retention during the export", res.skipped)
	}
	if res.undecodable > 0 {
		out.warnf("records skipped because they are not OTLP %s requests: %d", o.sig.Namespace, res.undecodable)
	}
	return errDamage
}

var errStopScan = errors.New("stop scan")

// shardCursor pulls one shard's records in its planned range.
type shardCursor struct {
	plan    shardPlan
	next    func() (log.Record, bool)
	stop    func()
	err     error // the scan's error, once it ended
	head    log.Record
	expect  int64 // next entry number: a jump is a skipped entry
	skipped int64
}

func openCursor(ctx context.Context, c *log.Client, p shardPlan) *shardCursor {
	cur := &shardCursor{plan: p, expect: p.start}
	var seq iter.Seq[log.Record] = func(yield func(log.Record) bool) {
		err := c.ScanRecords(ctx, p.stream, p.start, func(r log.Record) error {
			if !yield(r) {
				return errStopScan
			}
			return nil
		})
		if !errors.Is(err, errStopScan) {
			cur.err = err
		}
	}
	cur.next, cur.stop = iter.Pull(seq)
	return cur
}

// advance moves head to the next record of the range; false at its end.
func (cur *shardCursor) advance() bool {
	r, ok := cur.next()
	if !ok || r.ID.EntryNumber >= cur.plan.stop {
		cur.skipped += max(cur.plan.stop-cur.expect, 0)
		cur.expect = cur.plan.stop
		cur.close()
		return false
	}
	cur.skipped += r.ID.EntryNumber - cur.expect
	cur.expect = r.ID.EntryNumber + 1
	cur.head = r
	return true
}

func (cur *shardCursor) close() { cur.stop() }

// cursorHeap orders shard cursors by their head record: append time, then
// entry number, then shard, so that records imported round robin in a
// fresh directory come out in the order they were imported.
type cursorHeap []*shardCursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if c := a.head.Time.Compare(b.head.Time); c != 0 {
		return c < 0
	}
	if a.head.ID.EntryNumber != b.head.ID.EntryNumber {
		return a.head.ID.EntryNumber < b.head.ID.EntryNumber
	}
	return a.plan.shard < b.plan.shard
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*shardCursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	cur := old[len(old)-1]
	*h = old[:len(old)-1]
	return cur
}
