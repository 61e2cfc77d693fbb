// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package kafka

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// itemSet counts items by number and keeps what each looked like when first seen.
type itemSet struct {
	count   map[int64]int    // deliveries per item
	content map[int64]string // normalized content at first delivery
	changed []int64          // items seen again with other content
	total   int              // deliveries, duplicates included
	err     error            // first request that could not be flattened
}

func newItemSet() *itemSet {
	return &itemSet{count: map[int64]int{}, content: map[int64]string{}}
}

func (s *itemSet) add(items []item) {
	for _, it := range items {
		s.total++
		s.count[it.seq]++
		if prev, ok := s.content[it.seq]; !ok {
			s.content[it.seq] = it.canonical
		} else if prev != it.canonical {
			s.changed = append(s.changed, it.seq)
		}
	}
}

func (s *itemSet) addRequest(items []item, err error) {
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return
	}
	s.add(items)
}

func (s *itemSet) unique() int { return len(s.count) }

// sink is the end of a pipeline: it flattens every request it is given into items. It
// never refuses a request, so a pipeline never retries because of it.
type sink struct {
	mu  sync.Mutex
	got *itemSet
}

func newSink[T any](s signal[T]) (*sink, consumeFunc[T]) {
	k := &sink{got: newItemSet()}
	return k, func(_ context.Context, data T) error {
		items, err := s.items(data)
		k.mu.Lock()
		defer k.mu.Unlock()
		k.got.addRequest(items, err)
		return nil
	}
}

// has reports whether every item of want arrived, and how many did.
func (k *sink) has(want *itemSet) (bool, string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for seq := range want.count {
		if k.got.count[seq] > 0 {
			n++
		}
	}
	return n == want.unique() || k.got.err != nil, fmt.Sprintf("%d of %d items arrived (%d deliveries)", n, want.unique(), k.got.total)
}

// snapshot returns the items received so far; call it once the pipeline is shut down.
func (k *sink) snapshot() *itemSet {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.got
}

// send pushes requests 0..n-1 of a signal into consume and returns their items.
func send[T any](t *testing.T, ctx context.Context, s signal[T], consume consumeFunc[T], n int) *itemSet {
	t.Helper()
	sent := newItemSet()
	for req := range n {
		data := s.generate(req)
		items, err := s.items(data)
		if err != nil {
			t.Fatalf("generated %s request %d: %v", s.name, req, err)
		}
		sent.add(items)
		if err := consume(ctx, data); err != nil {
			t.Fatalf("send %s request %d: %v", s.name, req, err)
		}
	}
	if len(sent.changed) > 0 || sent.total != sent.unique() {
		t.Fatalf("generator numbered %d %s items with %d numbers", sent.total, s.name, sent.unique())
	}
	return sent
}

// assertExactlyOnce checks that got holds every item of sent exactly once, each unchanged,
// and nothing else. At-least-once delivery allows duplicates, but a clean run has none:
// they are counted, reported and fail the test.
func assertExactlyOnce(t *testing.T, where string, sent, got *itemSet) {
	t.Helper()
	if got.err != nil {
		t.Errorf("%s: a request could not be read: %v", where, got.err)
	}
	var missing, unexpected, differ []int64
	for seq, want := range sent.content {
		switch c, ok := got.content[seq]; {
		case !ok:
			missing = append(missing, seq)
		case c != want:
			differ = append(differ, seq)
		}
	}
	for seq := range got.count {
		if _, ok := sent.count[seq]; !ok {
			unexpected = append(unexpected, seq)
		}
	}
	duplicates := got.total - got.unique()
	t.Logf("%s: %d items sent, %d delivered: %d unique, %d duplicates, %d missing, %d changed",
		where, sent.unique(), got.total, got.unique(), duplicates, len(missing), len(differ)+len(got.changed))
	report := func(what string, seqs []int64) {
		if len(seqs) > 0 {
			slices.Sort(seqs)
			t.Errorf("%s: %d items %s, first %v", where, len(seqs), what, seqs[:min(len(seqs), 10)])
		}
	}
	report("missing", missing)
	report("that were never sent", unexpected)
	report("delivered more than once with different content", got.changed)
	if duplicates > 0 {
		var dups []int64
		for seq, n := range got.count {
			if n > 1 {
				dups = append(dups, seq)
			}
		}
		report("delivered more than once", dups)
	}
	if len(differ) > 0 {
		slices.Sort(differ)
		seq := differ[0]
		t.Errorf("%s: %d items changed on the way; item %d:\n%s", where, len(differ), seq, firstDifference(sent.content[seq], got.content[seq]))
	}
}

// firstDifference shows two strings around the first byte where they differ.
func firstDifference(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(i-60, 0)
	excerpt := func(s string) string { return s[min(from, len(s)):min(i+60, len(s))] }
	return fmt.Sprintf("sent: ...%s...\n got: ...%s...\n(first difference at byte %d)", excerpt(want), excerpt(got), i)
}
