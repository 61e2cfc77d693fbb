// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/comet-otel/comet/internal/log"
)

// The JSON shapes below are cometctl's stable output (--json of inspect
// and groups): fields are only ever added. cmd/cometctl/README.md
// documents each one. Times are RFC 3339 with nanoseconds, in UTC; null
// where there is nothing to date.

// dirReport is the output of inspect --json.
type dirReport struct {
	Directory    string            `json:"directory"`
	GeneratedAt  time.Time         `json:"generated_at"`
	Writer       writerReport      `json:"writer"`
	Segments     int               `json:"segments"`
	SegmentBytes int64             `json:"segment_bytes"` // what the exporter's retention::max_size counts
	DiskBytes    int64             `json:"disk_bytes"`    // every file: segments, indexes, offset files, lock
	BudgetBytes  *int64            `json:"budget_bytes"`  // --budget, or null
	BudgetUsed   *float64          `json:"budget_used"`   // segment_bytes / budget_bytes, or null
	Entries      int64             `json:"entries"`
	OldestRecord *time.Time        `json:"oldest_record"`
	NewestRecord *time.Time        `json:"newest_record"`
	Namespaces   []namespaceReport `json:"namespaces"`
	Groups       []groupReport     `json:"groups"`
	// DamagedOffsetFiles are offset files that cannot be read: their
	// groups restart from the oldest entry on those shards.
	DamagedOffsetFiles []damagedOffsetFile `json:"damaged_offset_files"`
}

type writerReport struct {
	LockFile string `json:"lock_file"`
	Held     string `json:"held"` // "held", "free" or "unknown" (Linux and Windows tell without taking the lock)
	PID      int    `json:"pid"`  // the process that last took the lock; 0 if none
	// Slots are the writer slots of multi-process writers (multi_process), if any were used.
	Slots []slotReport `json:"slots,omitempty"`
}

type slotReport struct {
	Slot int    `json:"slot"`
	Held string `json:"held"`
	PID  int    `json:"pid"` // the process that last held the slot
}

type namespaceReport struct {
	Namespace    string        `json:"namespace"`
	Version      string        `json:"version"`
	Segments     int           `json:"segments"`
	SegmentBytes int64         `json:"segment_bytes"`
	Entries      int64         `json:"entries"`
	OldestRecord *time.Time    `json:"oldest_record"`
	NewestRecord *time.Time    `json:"newest_record"`
	Shards       []shardReport `json:"shards"`
}

type shardReport struct {
	Stream       string     `json:"stream"`
	Segments     int        `json:"segments"`
	SegmentBytes int64      `json:"segment_bytes"`
	FirstEntry   int64      `json:"first_entry"` // oldest entry number on disk
	EndEntry     int64      `json:"end_entry"`   // next entry number: entries ever appended
	Entries      int64      `json:"entries"`     // end_entry - first_entry
	OldestRecord *time.Time `json:"oldest_record"`
	NewestRecord *time.Time `json:"newest_record"`
}

// groupReport is one consumer group on one namespace.
type groupReport struct {
	Group     string `json:"group"`
	Namespace string `json:"namespace"`
	Version   string `json:"version"`
	Lag       int64  `json:"lag"` // entries on disk the group has not acknowledged, all shards
	// OldestUnacked is the append time of the oldest record the group has
	// not acknowledged, over all shards; AgeSeconds is its age.
	OldestUnacked *time.Time         `json:"oldest_unacked"`
	AgeSeconds    *float64           `json:"age_seconds"`
	Shards        []groupShardReport `json:"shards"`
}

type groupShardReport struct {
	Stream string `json:"stream"`
	// Offset is the next entry the group reads; null when the group has
	// not read this shard yet (it will start at the shard's oldest entry).
	Offset        *int64     `json:"offset"`
	End           int64      `json:"end"`
	Lag           int64      `json:"lag"`
	OldestUnacked *time.Time `json:"oldest_unacked"`
	AgeSeconds    *float64   `json:"age_seconds"`
}

type damagedOffsetFile struct {
	Stream string `json:"stream"`
	File   string `json:"file"`
	Error  string `json:"error"`
}

// collectStreams describes every stream of the client, grouped by
// namespace.
func collectStreams(c *log.Client, names []string) ([]namespaceReport, error) {
	out := []namespaceReport{}
	for _, sel := range namespaces(names) {
		nr := namespaceReport{Namespace: sel.ns, Version: sel.ver, Shards: []shardReport{}}
		for _, name := range sel.pick(names) {
			sr, err := describeShard(c, name)
			if err != nil {
				return nil, err
			}
			nr.Segments += sr.Segments
			nr.SegmentBytes += sr.SegmentBytes
			nr.Entries += sr.Entries
			nr.OldestRecord = earliest(nr.OldestRecord, sr.OldestRecord)
			nr.NewestRecord = latest(nr.NewestRecord, sr.NewestRecord)
			nr.Shards = append(nr.Shards, sr)
		}
		out = append(out, nr)
	}
	return out, nil
}

func describeShard(c *log.Client, name string) (shardReport, error) {
	segs, err := c.Segments(name)
	if err != nil {
		return shardReport{}, err
	}
	sr := shardReport{Stream: name, Segments: len(segs)}
	for _, s := range segs {
		sr.SegmentBytes += s.Bytes
		if s.EndEntry > s.FirstEntry {
			minT, maxT := s.MinTime, s.MaxTime
			sr.OldestRecord = earliest(sr.OldestRecord, &minT)
			sr.NewestRecord = latest(sr.NewestRecord, &maxT)
		}
	}
	if len(segs) > 0 {
		sr.FirstEntry, sr.EndEntry = segs[0].FirstEntry, segs[len(segs)-1].EndEntry
		sr.Entries = sr.EndEntry - sr.FirstEntry
	}
	return sr, nil
}

// collectGroups reports every consumer group of every namespace: per
// shard its offset, lag and the append time of its oldest unacknowledged
// record (one index lookup and one read per shard that lags).
func collectGroups(ctx context.Context, c *log.Client, nss []namespaceReport, now time.Time) ([]groupReport, []damagedOffsetFile, error) {
	groups := []groupReport{}
	damaged := []damagedOffsetFile{}
	for _, nr := range nss {
		sel := selection{ns: nr.Namespace, ver: nr.Version}
		positions, err := c.GroupPositions(sel.pattern())
		if err != nil {
			return nil, nil, err
		}
		offsets := map[string]map[string]int64{} // group → stream → offset
		for _, p := range positions {
			if p.Err != nil {
				damaged = append(damaged, damagedOffsetFile{Stream: p.Stream, File: p.File, Error: p.Err.Error()})
				continue
			}
			if offsets[p.Group] == nil {
				offsets[p.Group] = map[string]int64{}
			}
			offsets[p.Group][p.Stream] = p.Offset
		}
		for _, group := range slices.Sorted(maps.Keys(offsets)) {
			gr, err := describeGroup(ctx, c, nr, group, offsets[group], now)
			if err != nil {
				return nil, nil, err
			}
			groups = append(groups, gr)
		}
	}
	return groups, damaged, nil
}

func describeGroup(ctx context.Context, c *log.Client, nr namespaceReport, group string, offsets map[string]int64, now time.Time) (groupReport, error) {
	gr := groupReport{Group: group, Namespace: nr.Namespace, Version: nr.Version, Shards: []groupShardReport{}}
	for _, sr := range nr.Shards {
		gs := groupShardReport{Stream: sr.Stream, End: sr.EndEntry}
		from := sr.FirstEntry
		if off, ok := offsets[sr.Stream]; ok {
			gs.Offset = &off
			from = max(off, sr.FirstEntry)
		}
		gs.Lag = max(sr.EndEntry-from, 0)
		if gs.Lag > 0 {
			t, err := firstRecordTime(ctx, c, sr.Stream, from, sr.EndEntry)
			if err != nil {
				return gr, err
			}
			gs.OldestUnacked, gs.AgeSeconds = t, ageSeconds(t, now)
		}
		gr.Lag += gs.Lag
		gr.OldestUnacked = earliest(gr.OldestUnacked, gs.OldestUnacked)
		gr.Shards = append(gr.Shards, gs)
	}
	gr.AgeSeconds = ageSeconds(gr.OldestUnacked, now)
	return gr, nil
}

var errFound = errors.New("found")

// firstRecordTime returns the append time of the first readable record of
// stream at or after entry from and before end, or nil if none is.
func firstRecordTime(ctx context.Context, c *log.Client, stream string, from, end int64) (*time.Time, error) {
	var t *time.Time
	err := c.ScanRecords(ctx, stream, from, func(r log.Record) error {
		if r.ID.EntryNumber < end {
			rt := r.Time
			t = &rt
		}
		return errFound
	})
	if err != nil && !errors.Is(err, errFound) {
		return nil, err
	}
	return t, nil
}

// diskBytes sums the sizes of every regular file under dir.
func diskBytes(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a file deleted by retention meanwhile: not counted
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}

func earliest(a, b *time.Time) *time.Time {
	if a == nil || b != nil && b.Before(*a) {
		return utc(b)
	}
	return a
}

func latest(a, b *time.Time) *time.Time {
	if a == nil || b != nil && b.After(*a) {
		return utc(b)
	}
	return a
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func ageSeconds(t *time.Time, now time.Time) *float64 {
	if t == nil {
		return nil
	}
	age := max(now.Sub(*t).Seconds(), 0)
	return &age
}

// writerOf reports the directory's lock.
func writerOf(dir string) writerReport {
	lock, err := log.InspectLock(dir)
	wr := writerReport{LockFile: lock.Path, Held: lock.Held.String(), PID: lock.PID}
	if err != nil {
		wr.Held = log.LockUnknown.String()
	}
	slots, err := log.InspectSlots(dir)
	for _, s := range slots {
		wr.Slots = append(wr.Slots, slotReport{Slot: s.Slot, Held: s.Held.String(), PID: s.PID})
	}
	if err != nil {
		wr.Slots = append(wr.Slots, slotReport{Slot: -1, Held: log.LockUnknown.String()})
	}
	return wr
}

// describeSlots names the multi-process writers holding slots, or says
// there are none.
func describeSlots(slots []slotReport) (string, bool) {
	var held []string
	for _, s := range slots {
		if s.Held == "held" {
			held = append(held, fmt.Sprintf("slot %d: process %d", s.Slot, s.PID))
		}
	}
	if len(held) == 0 {
		return "", false
	}
	return fmt.Sprintf("running, %d multi-process writers (%s)", len(held), strings.Join(held, ", ")), true
}

// describeWriter is the writer line of human output.
func describeWriter(w writerReport) string {
	var last string
	if w.PID > 0 {
		last = fmt.Sprintf("; last writer: process %d", w.PID)
	}
	if s, ok := describeSlots(w.Slots); ok {
		return s
	}
	switch w.Held {
	case "held":
		if w.PID > 0 {
			return fmt.Sprintf("running: process %d holds %s", w.PID, w.LockFile)
		}
		return "running: a process holds " + w.LockFile
	case "free":
		return "none running" + last
	}
	return "unknown (this platform cannot tell without taking the lock)" + last
}
