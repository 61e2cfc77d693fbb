// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"slices"
	"time"
)

// lingerTable holds back small batches so that a consumer keeping up with
// its writers hands them on in fewer, larger batches (see WithLinger). A
// shard whose read found a batch smaller than the limits is held: it is
// not read again until its deadline, and then whatever it holds is
// delivered. Holding costs one read of the records found first, which
// are read again at the deadline; nothing is acknowledged meanwhile, so a
// crash while holding delivers nothing twice.
type lingerTable struct {
	wait     time.Duration // 0: nothing is held back
	minBytes int64
	until    map[uint32]time.Time // held shards and their deadlines
}

func newLingerTable(p *processConfig) *lingerTable {
	minBytes := p.lingerBytes
	if p.batchBytes > 0 {
		minBytes = min(minBytes, p.batchBytes) // a batch cut at the byte limit is full
	}
	return &lingerTable{wait: p.linger, minBytes: minBytes, until: map[uint32]time.Time{}}
}

// waiting reports whether shard id is held and its deadline is still ahead.
func (l *lingerTable) waiting(id uint32, now time.Time) bool {
	until, ok := l.until[id]
	return ok && now.Before(until)
}

// holdBack decides on the batch just read from shard id and reports
// whether it is to be held back: a batch of fewer than full entries and
// minBytes payload bytes from a shard not held yet, which starts holding
// it. Any other batch is to be delivered now, and the shard is no longer
// held.
func (l *lingerTable) holdBack(id uint32, msgs []StreamMessage, full int, now time.Time) bool {
	_, held := l.until[id]
	switch {
	case held || l.wait <= 0 || len(msgs) >= full || payloadBytes(msgs) >= l.minBytes:
		l.forget(id)
		return false
	default:
		l.until[id] = now.Add(l.wait)
		return true
	}
}

// forget stops holding shard id (it had nothing, or its read failed: it
// waits for the next append or poll like any other).
func (l *lingerTable) forget(id uint32) { delete(l.until, id) }

// keepOnly forgets the shards not in shards (handed to another member),
// so that their deadlines do not wake this Process.
func (l *lingerTable) keepOnly(shards []uint32) {
	for id := range l.until {
		if !slices.Contains(shards, id) {
			l.forget(id)
		}
	}
}

// nextDeadline returns how long until the first held shard is due, or
// ok false when none is held.
func (l *lingerTable) nextDeadline(now time.Time) (d time.Duration, ok bool) {
	for _, until := range l.until {
		if left := until.Sub(now); !ok || left < d {
			d, ok = left, true
		}
	}
	return max(d, 0), ok
}

func payloadBytes(msgs []StreamMessage) int64 {
	var n int64
	for i := range msgs {
		n += int64(len(msgs[i].Data))
	}
	return n
}
