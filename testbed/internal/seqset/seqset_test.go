// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package seqset

import (
	"sync"
	"testing"
)

func TestSet_Add_CountsDistinct(t *testing.T) {
	s := New()
	if !s.Add(5) || s.Add(5) {
		t.Fatal("second Add of the same number must report a duplicate")
	}
	s.AddRange(chunkBits-2, 4) // crosses a chunk boundary
	if got := s.Count(); got != 5 {
		t.Fatalf("Count = %d, want 5", got)
	}
	for _, seq := range []uint64{5, chunkBits - 2, chunkBits - 1, chunkBits, chunkBits + 1} {
		if !s.Has(seq) {
			t.Errorf("Has(%d) = false", seq)
		}
	}
	if s.Has(6) || s.Has(10*chunkBits) {
		t.Error("Has reports a number never added")
	}
}

func TestSet_Add_Concurrent(t *testing.T) {
	s := New()
	const workers, per = 8, 20000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				// Every number is added by two workers: the count must still be exact.
				s.Add(uint64((w/2)*per + i))
			}
		})
	}
	wg.Wait()
	if got, want := s.Count(), int64(workers/2*per); got != want {
		t.Fatalf("Count = %d, want %d", got, want)
	}
}

func TestSet_Missing(t *testing.T) {
	acked, delivered := New(), New()
	acked.AddRange(0, 100)
	delivered.AddRange(0, 100)
	delivered.Add(1000) // delivered but never acknowledged: not a loss
	for _, lost := range []uint64{3, 70, 99} {
		delivered = without(delivered, lost)
	}
	if got := acked.Missing(delivered); got != 3 {
		t.Fatalf("Missing = %d, want 3", got)
	}
	sample := acked.MissingSample(delivered, 2)
	if len(sample) != 2 || sample[0] != 3 || sample[1] != 70 {
		t.Fatalf("MissingSample = %v, want [3 70]", sample)
	}
}

func without(s *Set, drop uint64) *Set {
	out := New()
	s.Each(func(seq uint64) bool {
		if seq != drop {
			out.Add(seq)
		}
		return true
	})
	return out
}

func TestSet_FirstMissing(t *testing.T) {
	acked, delivered := New(), New()
	acked.AddRange(10, 3*chunkBits)
	delivered.AddRange(10, 3*chunkBits)
	if seq, ok := acked.FirstMissing(delivered, 0); ok {
		t.Fatalf("FirstMissing = %d on equal sets", seq)
	}
	delivered = without(delivered, 70)
	delivered = without(delivered, 2*chunkBits+5)
	for _, c := range []struct{ from, want uint64 }{{0, 70}, {70, 70}, {71, 2*chunkBits + 5}, {2*chunkBits + 5, 2*chunkBits + 5}} {
		if seq, ok := acked.FirstMissing(delivered, c.from); !ok || seq != c.want {
			t.Errorf("FirstMissing(from %d) = %d, %v; want %d", c.from, seq, ok, c.want)
		}
	}
	if seq, ok := acked.FirstMissing(delivered, 2*chunkBits+6); ok {
		t.Errorf("FirstMissing past the last gap = %d", seq)
	}
	if seq, ok := acked.FirstMissing(New(), 5); !ok || seq != 10 {
		t.Errorf("FirstMissing against an empty set = %d, %v; want 10", seq, ok)
	}
}
