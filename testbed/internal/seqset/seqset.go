// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package seqset is a concurrent, growable set of item sequence numbers.
//
// The testbed gives every span and log record a unique sequence number. The load generator
// records the numbers the collector acknowledged, the mock backend the numbers that arrived;
// comparing the two sets gives lost and duplicated items per item, not per request.
package seqset // import "github.com/comet-otel/comet/testbed/internal/seqset"

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// chunkWords is the number of 64-bit words in one lazily allocated chunk (65,536 numbers).
const chunkWords = 1024

const chunkBits = chunkWords * 64

type chunk [chunkWords]atomic.Uint64

// Set holds sequence numbers. Add, Has and Count are safe for concurrent use; memory grows
// with the highest number added (one bit per number), in chunks of 8 KiB.
type Set struct {
	mu     sync.Mutex               // serialises growth only
	chunks atomic.Pointer[[]*chunk] // copy-on-write directory of chunks
	count  atomic.Int64
}

// New returns an empty set.
func New() *Set {
	s := &Set{}
	empty := []*chunk{}
	s.chunks.Store(&empty)
	return s
}

func (s *Set) chunkFor(seq uint64, grow bool) *chunk {
	idx := seq / chunkBits
	dir := *s.chunks.Load()
	if idx < uint64(len(dir)) && dir[idx] != nil {
		return dir[idx]
	}
	if !grow {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dir = *s.chunks.Load()
	if idx < uint64(len(dir)) && dir[idx] != nil {
		return dir[idx]
	}
	grown := make([]*chunk, max(uint64(len(dir)), idx+1))
	copy(grown, dir)
	grown[idx] = new(chunk)
	s.chunks.Store(&grown)
	return grown[idx]
}

// Add inserts seq and reports whether it was absent before.
func (s *Set) Add(seq uint64) bool {
	c := s.chunkFor(seq, true)
	bit := seq % chunkBits
	mask := uint64(1) << (bit % 64)
	old := c[bit/64].Or(mask)
	if old&mask != 0 {
		return false
	}
	s.count.Add(1)
	return true
}

// AddRange inserts every number in [from, from+n).
func (s *Set) AddRange(from, n uint64) {
	for seq := from; seq < from+n; seq++ {
		s.Add(seq)
	}
}

// Has reports whether seq is in the set.
func (s *Set) Has(seq uint64) bool {
	c := s.chunkFor(seq, false)
	if c == nil {
		return false
	}
	bit := seq % chunkBits
	return c[bit/64].Load()&(uint64(1)<<(bit%64)) != 0
}

// Count is the number of distinct numbers in the set.
func (s *Set) Count() int64 { return s.count.Load() }

// Each calls fn for every number in the set in ascending order and stops early when fn
// returns false. Numbers added concurrently may or may not be visited.
func (s *Set) Each(fn func(seq uint64) bool) {
	dir := *s.chunks.Load()
	for ci, c := range dir {
		if c == nil {
			continue
		}
		for wi := range c {
			w := c[wi].Load()
			for w != 0 {
				b := uint64(bits.TrailingZeros64(w))
				w &= w - 1
				if !fn(uint64(ci)*chunkBits + uint64(wi)*64 + b) {
					return
				}
			}
		}
	}
}

// Missing counts the numbers of s that are absent from other (s minus other).
func (s *Set) Missing(other *Set) int64 {
	var n int64
	s.Each(func(seq uint64) bool {
		if !other.Has(seq) {
			n++
		}
		return true
	})
	return n
}

// FirstMissing returns the smallest number at or above from that is in s but not in other.
// Both sets only grow, so a caller waiting for other to catch up with s can resume from the
// last answer instead of rescanning.
func (s *Set) FirstMissing(other *Set, from uint64) (uint64, bool) {
	dir := *s.chunks.Load()
	for ci := from / chunkBits; ci < uint64(len(dir)); ci++ {
		c := dir[ci]
		if c == nil {
			continue
		}
		oc := other.chunkFor(ci*chunkBits, false)
		wi := uint64(0)
		if ci == from/chunkBits {
			wi = (from % chunkBits) / 64
		}
		for ; wi < chunkWords; wi++ {
			w := c[wi].Load()
			if oc != nil {
				w &^= oc[wi].Load()
			}
			base := ci*chunkBits + wi*64
			if base < from {
				w &^= (uint64(1) << (from - base)) - 1
			}
			if w != 0 {
				return base + uint64(bits.TrailingZeros64(w)), true
			}
		}
	}
	return 0, false
}

// MissingSample returns up to limit numbers of s that are absent from other, ascending:
// evidence for a failure message.
func (s *Set) MissingSample(other *Set, limit int) []uint64 {
	var out []uint64
	s.Each(func(seq uint64) bool {
		if !other.Has(seq) {
			out = append(out, seq)
		}
		return len(out) < limit
	})
	return out
}
