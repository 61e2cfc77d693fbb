// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

// storeRaw is the compression of entries appended while consumers keep up.
var storeRaw = CompressionConfig{Codec: CodecNone}

// compression is how a batch of entries appended to s now is stored: raw
// while every consumer group loaded for s is within
// Compression.BacklogThreshold bytes of its end, compressed as configured
// otherwise (no group, or one falling behind). The backlog in bytes is
// estimated from entry counts and the batch's mean entry size. Cost: the
// group table's lock and one load per loaded group.
func (s *shard) compression(entries [][]byte) *CompressionConfig {
	cfg := &s.c.cfg.Compression
	if cfg.Codec == CodecNone || cfg.BacklogThreshold <= 0 || len(entries) == 0 {
		return cfg
	}
	slowest, ok := s.groups.slowest()
	if !ok {
		return cfg
	}
	raw := 0
	for _, e := range entries {
		raw += len(e)
	}
	if backlog := (s.next.Load() - slowest) * int64(raw/len(entries)); backlog > cfg.BacklogThreshold {
		return cfg
	}
	return &storeRaw
}

// slowest returns the smallest offset of the groups loaded on the shard;
// ok is false when none is.
func (t *groupTable) slowest() (off int64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, g := range t.groups {
		if o := g.offset.Load(); !ok || o < off {
			off, ok = o, true
		}
	}
	return off, ok
}
