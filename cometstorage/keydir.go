// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import (
	"math"
	"slices"

	"github.com/comet-otel/comet/internal/log"
)

// tombstoneLen marks a key directory entry that is a tombstone.
const tombstoneLen = math.MaxUint32

// opOverhead is what an operation costs beyond its key and value in the
// garbage accounting (type byte, lengths, share of the record header).
const opOverhead = 8

// entry is where the newest operation on a key lies: a set (the value is
// payload[voff:voff+vlen] of the record at seg/off) or a tombstone that
// must stay on disk. 32 bytes; values are never held in memory.
type entry struct {
	seg    int64 // first entry number of the segment holding the record
	oldest int64 // oldest segment that may still hold a record of this key
	off    uint32
	size   uint32
	voff   uint32
	vlen   uint32 // tombstoneLen for a tombstone
}

func (e entry) tombstone() bool { return e.vlen == tombstoneLen }

// cost is the operation's weight in its segment's garbage accounting.
func (e entry) cost(key string) int64 {
	if e.tombstone() {
		return opCost(len(key), 0)
	}
	return opCost(len(key), int(e.vlen))
}

func opCost(keyLen, valueLen int) int64 { return int64(keyLen + valueLen + opOverhead) }

func (e entry) location() log.Location {
	return log.Location{ID: log.MessageID{EntryNumber: -1}, Segment: e.seg, Offset: int64(e.off), Size: int64(e.size)}
}

// segment is the key directory's account of one segment of the log.
type segment struct {
	base      int64 // first entry number: the engine's name for the segment
	bytes     int64 // bytes of records on disk
	opBytes   int64 // cost of every operation written to it
	liveBytes int64 // cost of the operations the key directory points to
	liveSets  int64
	liveTombs int64
	// tombs lists keys whose tombstone was written here. Entries go stale
	// when the key is written again; garbage collection skips those.
	tombs []string
}

// deadRatio is the share of the segment's operations nobody points to.
func (s *segment) deadRatio() float64 {
	if s.opBytes == 0 {
		return 1
	}
	return 1 - float64(s.liveBytes)/float64(s.opBytes)
}

func (s *segment) unreferenced() bool { return s.liveSets == 0 && s.liveTombs == 0 }

// keydir maps every live key to its newest record and keeps, per segment,
// how much of it is still referenced. It is guarded by the client's lock.
type keydir struct {
	keys   map[string]entry
	live   int // entries that are not tombstones
	segs   []*segment
	byBase map[int64]*segment
	disk   int64 // bytes of all segments
}

func newKeydir() keydir {
	return keydir{keys: map[string]entry{}, byBase: map[int64]*segment{}}
}

// segment returns the account of the segment starting at base, creating
// it (segments are created in ascending order of base).
func (d *keydir) segment(base int64) *segment {
	if s := d.byBase[base]; s != nil {
		return s
	}
	s := &segment{base: base}
	i, _ := slices.BinarySearchFunc(d.segs, base, func(s *segment, b int64) int { return cmpInt64(s.base, b) })
	d.segs = slices.Insert(d.segs, i, s)
	d.byBase[base] = s
	return s
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// removeSegment forgets a deleted segment.
func (d *keydir) removeSegment(s *segment) {
	if i := slices.Index(d.segs, s); i >= 0 {
		d.segs = slices.Delete(d.segs, i, i+1)
	}
	delete(d.byBase, s.base)
	d.disk -= s.bytes
}

// get returns the live value entry of key, if any.
func (d *keydir) get(key string) (entry, bool) {
	e, ok := d.keys[key]
	if !ok || e.tombstone() {
		return entry{}, false
	}
	return e, true
}

// addRecord accounts a record of size bytes appended to segment seg.
func (d *keydir) addRecord(seg *segment, size int64) {
	seg.bytes += size
	d.disk += size
}

// set points key at a value in the record at seg/off.
func (d *keydir) set(key string, seg *segment, off, size, voff, vlen uint32) {
	oldest := seg.base
	if prev, ok := d.keys[key]; ok {
		d.unref(key, prev)
		oldest = prev.oldest
		if prev.tombstone() {
			d.live++
		}
	} else {
		d.live++
	}
	cost := opCost(len(key), int(vlen))
	seg.opBytes += cost
	seg.liveBytes += cost
	seg.liveSets++
	d.keys[key] = entry{seg: seg.base, oldest: oldest, off: off, size: size, voff: voff, vlen: vlen}
}

// del records a delete of key written in the record at seg/off. A
// tombstone entry is kept only while an older segment may still hold a
// record of the key: without it a restart would bring the key back.
func (d *keydir) del(key string, seg *segment, off, size uint32) {
	seg.opBytes += opCost(len(key), 0)
	prev, ok := d.keys[key]
	if !ok {
		return // nothing older on disk to hide
	}
	d.unref(key, prev)
	if !prev.tombstone() {
		d.live--
	}
	if !d.needed(prev.oldest, seg.base) {
		delete(d.keys, key)
		return
	}
	seg.liveBytes += opCost(len(key), 0)
	seg.liveTombs++
	seg.tombs = append(seg.tombs, key)
	d.keys[key] = entry{seg: seg.base, oldest: prev.oldest, off: off, size: size, vlen: tombstoneLen}
}

// unref removes e, the current entry of key, from its segment's account.
func (d *keydir) unref(key string, e entry) {
	s := d.byBase[e.seg]
	if s == nil {
		return
	}
	s.liveBytes -= e.cost(key)
	if e.tombstone() {
		s.liveTombs--
	} else {
		s.liveSets--
	}
}

// needed reports whether a tombstone in segment tomb must stay on disk for
// a key whose records all lie in segments from oldest on: it must while a
// segment in [oldest, tomb) exists. Records of the key in tomb itself
// precede the tombstone and go with it.
func (d *keydir) needed(oldest, tomb int64) bool {
	i, _ := slices.BinarySearchFunc(d.segs, oldest, func(s *segment, b int64) int { return cmpInt64(s.base, b) })
	return i < len(d.segs) && d.segs[i].base < tomb
}

// collectTombstone drops the tombstone of key in seg if it is no longer
// needed. It reports whether key must stay listed in seg.tombs: false
// when the tombstone was dropped or the listing is stale (the key was
// written again since).
func (d *keydir) collectTombstone(seg *segment, key string) (keep bool) {
	e, ok := d.keys[key]
	if !ok || !e.tombstone() || e.seg != seg.base {
		return false
	}
	if d.needed(e.oldest, seg.base) {
		return true
	}
	d.unref(key, e)
	delete(d.keys, key)
	return false
}

// revert replaces key's entry bad (a damaged record) with its previous
// operation prev, or removes the key when it has none or prev deleted it.
// Only the live accounts change: the operations were counted when
// written.
func (d *keydir) revert(key string, bad, prev entry, found bool) {
	d.unref(key, bad)
	if !bad.tombstone() {
		d.live--
	}
	s := d.byBase[prev.seg]
	if !found || prev.tombstone() || s == nil {
		delete(d.keys, key)
		return
	}
	prev.oldest = min(bad.oldest, prev.seg)
	cost := prev.cost(key)
	s.liveBytes += cost
	s.liveSets++
	d.live++
	d.keys[key] = prev
}
