// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter // import "github.com/comet-otel/comet/cometexporter"

import (
	"errors"
	"slices"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// part is one shard's share of a request.
type part[T any] struct {
	shard uint32
	data  T
}

// shardPicker maps requests, resources and trace IDs to the shards this
// process writes: all of them, or with multi_process its writer slot's
// share. Hashes are stable across processes and restarts: one resource or
// trace always lands in the same shard for a given set of shards.
type shardPicker struct {
	owned []uint32
	next  atomic.Uint32
}

// newShardPicker picks among shards 0..shards-1 until own says otherwise.
func newShardPicker(shards int) *shardPicker {
	p := &shardPicker{}
	for i := range uint32(shards) {
		p.owned = append(p.owned, i)
	}
	return p
}

// own restricts the picker to the shards this process may append to.
func (p *shardPicker) own(shards []uint32) error {
	if len(shards) == 0 {
		return errors.New("this collector's writer slot owns none of the exporter's shards: set shards to at least process_slots")
	}
	p.owned = shards
	return nil
}

// idBound is one past the highest owned shard ID (owned is ascending).
func (p *shardPicker) idBound() int { return int(p.owned[len(p.owned)-1]) + 1 }

// pick maps a hash to one of the owned shards.
func (p *shardPicker) pick(h uint64) uint32 { return p.owned[h%uint64(len(p.owned))] }

// roundRobin returns the next shard in turn.
func (p *shardPicker) roundRobin() uint32 { return p.pick(uint64(p.next.Add(1) - 1)) }

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// forTraceID hashes a trace ID with FNV-1a.
func (p *shardPicker) forTraceID(id pcommon.TraceID) uint32 {
	h := uint64(fnvOffset64)
	for _, b := range id {
		h = (h ^ uint64(b)) * fnvPrime64
	}
	return p.pick(h)
}

// forResource hashes a resource's attributes, in key order, with FNV-1a.
// Each attribute contributes its key, its value type and its value, so
// {"a": "1"} and {"a": 1} differ.
func (p *shardPicker) forResource(res pcommon.Resource) uint32 {
	attrs := res.Attributes()
	keys := make([]string, 0, attrs.Len())
	for k := range attrs.All() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := uint64(fnvOffset64)
	write := func(s string) {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * fnvPrime64
		}
		h = (h ^ 0xff) * fnvPrime64 // separator: no byte of valid UTF-8
	}
	for _, k := range keys {
		v, _ := attrs.Get(k)
		write(k)
		write(v.Type().String())
		write(v.AsString())
	}
	return p.pick(h)
}

// resourceShards returns the shard of each of n resources, and whether
// they all share one shard (then the request need not be split).
func (p *shardPicker) resourceShards(n int, resource func(int) pcommon.Resource) ([]uint32, bool) {
	if n == 0 {
		return []uint32{p.roundRobin()}, true
	}
	shards := make([]uint32, n)
	single := true
	for i := range n {
		shards[i] = p.forResource(resource(i))
		single = single && shards[i] == shards[0]
	}
	return shards, single
}

// partSet collects the parts of a request split across shards, in the
// order shards are first seen.
type partSet[T any] struct {
	newData func() T
	index   map[uint32]int
	parts   []part[T]
}

func newPartSet[T any](newData func() T) *partSet[T] {
	return &partSet[T]{newData: newData, index: map[uint32]int{}}
}

// get returns the part of a shard, creating it.
func (s *partSet[T]) get(shard uint32) T {
	if i, ok := s.index[shard]; ok {
		return s.parts[i].data
	}
	s.index[shard] = len(s.parts)
	d := s.newData()
	s.parts = append(s.parts, part[T]{shard: shard, data: d})
	return d
}
