// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/comet-otel/comet/internal/log"
)

// shardPlan is the range of entries of one shard an export reads.
type shardPlan struct {
	stream string
	shard  uint32
	start  int64 // first entry to read
	// stop is the first entry not read: the end of the shard when the
	// export started, or the first entry of the segments that hold only
	// records appended at or after --to.
	stop int64
}

// planExport decides which entries of each stream to read, from segment
// bounds and the group's offsets: no record is read to plan.
func planExport(c *log.Client, streams []string, o *exportOptions, out *output) ([]shardPlan, error) {
	var offsets map[string]int64
	if o.group != "" {
		var err error
		if offsets, err = groupOffsets(c, o.sel, o.group, out); err != nil {
			return nil, err
		}
	}
	var plans []shardPlan
	for _, stream := range streams {
		segs, err := c.Segments(stream)
		if err != nil {
			return nil, err
		}
		if len(segs) == 0 {
			continue
		}
		_, _, shard, _ := splitStream(stream)
		p := shardPlan{stream: stream, shard: shard, start: segs[0].FirstEntry, stop: segs[len(segs)-1].EndEntry}
		if o.group != "" {
			if off, ok := offsets[stream]; ok {
				p.start = max(p.start, off)
			} else {
				out.warnf("group %q has not read %s yet: exporting all of it, where the group will start", o.group, stream)
			}
		}
		if o.from != nil {
			p.start = max(p.start, firstEntryFrom(segs, *o.from))
		}
		if o.to != nil {
			p.stop = min(p.stop, firstEntryOnlyAfter(segs, *o.to))
		}
		if p.start < p.stop {
			plans = append(plans, p)
		}
	}
	return plans, nil
}

// groupOffsets returns the group's offset per stream of the selection.
func groupOffsets(c *log.Client, sel selection, group string, out *output) (map[string]int64, error) {
	positions, err := c.GroupPositions(sel.pattern())
	if err != nil {
		return nil, err
	}
	offsets := map[string]int64{}
	others := map[string]bool{}
	for _, p := range positions {
		switch {
		case p.Err != nil:
			out.warnf("%s: %v; if it is group %q's offset file, the group restarts there from the oldest entry, and so does this export", p.Stream, p.Err, group)
		case p.Group == group:
			offsets[p.Stream] = p.Offset
		default:
			others[p.Group] = true
		}
	}
	if len(offsets) == 0 {
		known := "none"
		if len(others) > 0 {
			known = strings.Join(slices.Sorted(maps.Keys(others)), ", ")
		}
		return nil, fmt.Errorf("consumer group %q has no offsets on %s (groups there: %s)", group, sel.pattern(), known)
	}
	return offsets, nil
}

// firstEntryFrom returns the first entry of the first segment holding a
// record appended at or after t: records before it are all older.
func firstEntryFrom(segs []log.SegmentInfo, t time.Time) int64 {
	for _, s := range segs {
		if s.EndEntry > s.FirstEntry && !s.MaxTime.Before(t) {
			return s.FirstEntry
		}
	}
	return segs[len(segs)-1].EndEntry
}

// firstEntryOnlyAfter returns the first entry of the last run of segments
// whose records were all appended at or after t: nothing from there on
// is before t.
func firstEntryOnlyAfter(segs []log.SegmentInfo, t time.Time) int64 {
	stop := segs[len(segs)-1].EndEntry
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if s.EndEntry == s.FirstEntry {
			continue // an empty (new active) segment
		}
		if s.MinTime.Before(t) {
			break
		}
		stop = s.FirstEntry
	}
	return stop
}
