// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"cmp"
	"slices"
	"sort"

	"go.uber.org/zap"
)

// Segments whose entry numbers overlap are never written by this engine:
// one of them was put there from outside (copied from another stream or
// shard, restored from a backup). Records carry no stream identity, so
// which one is foreign cannot be read from them. The shard keeps the set
// of segments that holds the most entries, the active segment always
// among them, and sets the others aside: they stay on disk untouched, are
// not read, not counted in the disk usage and never deleted by retention,
// and each is logged as an error with its file and entries. Nothing is
// hidden inside a kept segment, so a foreign file can cost at most the
// entries of the segments it overlaps when it is the larger claim.

// setAsideOverlaps removes overlapping segments from s.segs, keeping the
// non-overlapping set with the most entries. Only the open calls it.
func (s *shard) setAsideOverlaps() {
	if !hasOverlap(s.segs) {
		return
	}
	active := s.segs[len(s.segs)-1]
	kept := mostEntries(s.segs[:len(s.segs)-1], active.base)
	keep := map[*segment]bool{active: true}
	for _, seg := range kept {
		keep[seg] = true
	}
	var out []*segment
	for _, seg := range s.segs {
		if keep[seg] {
			out = append(out, seg)
			continue
		}
		s.c.stats.errors.Add(1)
		s.c.log.Error("Setting aside a segment whose entry numbers overlap other segments of the stream (a file copied in from elsewhere?): it is left on disk untouched and not read",
			zap.String("file", seg.path), zap.Int64("first_entry", seg.base), zap.Int64("end_entry", seg.end()))
	}
	s.segs = out
}

// hasOverlap reports whether a segment (in ascending base order) holds
// entry numbers its successor starts at or after.
func hasOverlap(segs []*segment) bool {
	for i := 0; i+1 < len(segs); i++ {
		if segs[i].end() > segs[i+1].base {
			return true
		}
	}
	return false
}

// mostEntries picks, among segs, non-overlapping segments that end at or
// before limit holding the most entries in total (weighted interval
// scheduling), in ascending order.
func mostEntries(segs []*segment, limit int64) []*segment {
	var cands []*segment
	for _, seg := range segs {
		if seg.end() <= limit {
			cands = append(cands, seg)
		}
	}
	slices.SortFunc(cands, func(a, b *segment) int { return cmp.Compare(a.end(), b.end()) })
	// best[i]: most entries using the first i candidates; took[i]: whether
	// candidate i-1 is in that choice.
	best := make([]int64, len(cands)+1)
	took := make([]bool, len(cands)+1)
	prev := make([]int, len(cands)+1)
	for i := 1; i <= len(cands); i++ {
		seg := cands[i-1]
		// Candidates that end at or before seg's base.
		p := sort.Search(i-1, func(j int) bool { return cands[j].end() > seg.base })
		with := best[p] + seg.count.Load()
		if with > best[i-1] {
			best[i], took[i], prev[i] = with, true, p
		} else {
			best[i], prev[i] = best[i-1], i-1
		}
	}
	var out []*segment
	for i := len(cands); i > 0; i = prev[i] {
		if took[i] {
			out = append(out, cands[i-1])
		}
	}
	slices.Reverse(out)
	return out
}
