// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
)

// Offset files: one per consumer group per shard, in the shard's "groups"
// directory, named "g-" + the first 32 hex digits of SHA-256(group) +
// ".offset", so group names of any length and any bytes map to safe,
// fixed-length file names. Layout (little-endian), see doc.go:
//
//	[0:4]     magic "CMOF"
//	[4]       version (1)
//	[5:8]     reserved, zero
//	[8:12]    length N of the group name
//	[12:12+N] group name
//	[+0:+4]   CRC-32C of everything before
//	two slots at slotBase = roundUp(16+N, 64) and slotBase+32:
//	  [0:8]   sequence number: the valid slot with the higher one wins
//	  [8:16]  offset: the next entry the group reads
//	  [16:20] CRC-32C of [0:16]
//
// An acknowledgement overwrites the older slot, so a torn write (power
// loss) leaves the previous offset readable: at worst entries are
// delivered again, never skipped.
const (
	groupsDirName   = "groups"
	offsetMagic     = "CMOF"
	offsetVersion   = 1
	offsetSlotSize  = 32
	offsetSlotBytes = 20
	offsetFileExt   = ".offset"
)

// isOffsetFileName reports whether a file in a groups directory is an
// offset file (and not, say, a temporary file being replaced).
func isOffsetFileName(name string) bool {
	return strings.HasPrefix(name, "g-") && strings.HasSuffix(name, offsetFileExt)
}

func groupFileName(group string) string {
	sum := sha256.Sum256([]byte(group))
	return "g-" + hex.EncodeToString(sum[:16]) + offsetFileExt
}

func offsetSlotBase(nameLen int) int64 { return int64((16 + nameLen + 63) / 64 * 64) }

// groupOffset is one group's position on one shard. The in-memory offset
// is authoritative in this process; the file follows it. A write to the
// file that fails (a full disk) is logged and retried at the next
// acknowledgement or checkpoint, so consumption never stalls on it: after
// a crash the group at worst restarts from an older offset.
type groupOffset struct {
	t        *groupTable
	name     string
	path     string
	slotBase int64

	mu      sync.Mutex // orders writes to the file
	seq     uint64
	created bool // the file exists
	unsaved bool // the offset in memory has not reached the file
	dirty   bool // written since the last fsync
	offset  atomic.Int64
}

// groupTable holds the groups of one shard that this process has used.
type groupTable struct {
	s       *shard
	mu      sync.Mutex
	groups  map[string]*groupOffset
	dropped map[string]int64 // per group: entries deleted before it acknowledged them
}

func (t *groupTable) init(s *shard) {
	t.s = s
	t.groups = map[string]*groupOffset{}
	t.dropped = map[string]int64{}
}

// noteDeleted counts, per group, the entries of a deleted segment the
// group had not acknowledged, and returns the largest such count. When the
// shard has no group, unreadLost says whether its entries count as lost
// (retention deleting data nobody read yet) or not (a caller of
// DeleteSegment on a stream no group reads decided itself they were no
// longer needed).
func (t *groupTable) noteDeleted(seg *segment, unreadLost bool) int64 {
	groups, err := t.onDisk()
	if err != nil {
		return 0
	}
	var worst int64
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, g := range groups {
		if lost := seg.end() - max(g.offset.Load(), seg.base); lost > 0 {
			t.dropped[g.name] += lost
			worst = max(worst, lost)
		}
	}
	if len(groups) == 0 && unreadLost {
		worst = seg.count.Load() // nobody had read it
	}
	return worst
}

func (t *groupTable) dir() string { return filepath.Join(t.s.dir, groupsDirName) }

// get returns the group's offset record, loading it from disk, or creating
// it at start when it does not exist and create is set. ok is false when
// the group does not exist and create is not set.
func (t *groupTable) get(name string, create bool, start int64) (g *groupOffset, ok bool) {
	t.mu.Lock()
	g = t.groups[name]
	t.mu.Unlock()
	if g != nil {
		return g, true
	}
	if t.s.readOnly {
		t.s.catchUp() // the stored offset may be past the end this process has seen
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if g := t.groups[name]; g != nil {
		return g, true
	}
	g = &groupOffset{t: t, name: name, path: filepath.Join(t.dir(), groupFileName(name)), slotBase: offsetSlotBase(len(name))}
	off, seq, err := readOffsetFile(g.path, name)
	switch {
	case err == nil:
		g.seq, g.created = seq, true
		g.offset.Store(t.clampLoaded(g, off))
	case errors.Is(err, os.ErrNotExist):
		if !create {
			return nil, false
		}
		g.offset.Store(start)
		g.persist()
	default:
		// A damaged offset file: restart the group from the oldest entry,
		// which redelivers rather than skips.
		t.s.c.stats.errors.Add(1)
		t.s.c.log.Warn("Consumer offset file is damaged; the group restarts from the oldest entry",
			zap.String("file", g.path), zap.String("group", name), zap.Error(err))
		g.offset.Store(t.s.firstEntry())
		g.persist()
	}
	t.groups[name] = g
	return g, true
}

// reload re-reads the offset of a group this process has loaded from its
// file, for a consumer-group member that has just claimed the shard: the
// previous holder, maybe in another process, moved it there. An offset
// this process could not store yet (a full disk) is newer than the file
// and stays.
func (t *groupTable) reload(name string) {
	t.mu.Lock()
	g := t.groups[name]
	t.mu.Unlock()
	if g == nil {
		return // not loaded: the first use reads the file
	}
	if t.s.readOnly {
		t.s.catchUp() // the stored offset may be past the end this process has seen
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.unsaved || !g.created {
		return
	}
	off, seq, err := readOffsetFile(g.path, name)
	if err != nil || seq <= g.seq {
		return
	}
	g.seq = seq
	g.offset.Store(t.clampLoaded(g, off))
}

// fresher returns g, or a copy holding the offset of g's file when the
// file is ahead: the member of the group that holds the shard now may be
// in another process (membership.go), and what retention may delete
// follows its acknowledgements, not this process's last one.
func (g *groupOffset) fresher() *groupOffset {
	off, _, err := readOffsetFile(g.path, g.name)
	if err != nil || off <= g.offset.Load() {
		return g
	}
	ahead := &groupOffset{t: g.t, name: g.name, path: g.path}
	ahead.offset.Store(off)
	return ahead
}

// clampLoaded keeps a loaded offset within the recovered log: after a
// crash the log may end before an offset that was acknowledged.
func (t *groupTable) clampLoaded(g *groupOffset, off int64) int64 {
	if end := t.s.next.Load(); off > end {
		t.s.c.log.Warn("Consumer offset is past the end of the recovered log; clamping",
			zap.String("stream", t.s.name), zap.String("group", g.name), zap.Int64("offset", off), zap.Int64("end", end))
		return end
	}
	return off
}

// set moves the group's offset to off, forward or back.
func (g *groupOffset) set(off int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.offset.Store(off)
	g.persist()
}

// advance moves the offset to off if that is beyond the current one.
func (g *groupOffset) advance(off int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if off > g.offset.Load() {
		g.offset.Store(off)
		g.persist()
	}
}

// persist writes the in-memory offset to the file (creating it on first
// use) without fsync. The caller holds g.mu.
func (g *groupOffset) persist() {
	var err error
	if g.created {
		err = g.writeSlot(g.offset.Load())
	} else if err = g.createFile(); err == nil {
		g.created = true
	}
	c := g.t.s.c
	if err != nil {
		if !g.unsaved {
			g.unsaved = true
			c.unsavedOffsets.Add(1)
		}
		c.stats.errors.Add(1)
		// A full disk fails every group on every shard at once: say it once
		// per client and episode (see Client.offsetsStoredAgain).
		if c.offsetsFailing.Raise() {
			c.log.Warn("Could not store a consumer offset; offsets hold in memory and are retried at every acknowledgement and checkpoint (said again only after they have all been stored)",
				zap.String("stream", g.t.s.name), zap.String("group", g.name), zap.Error(err))
		}
		return
	}
	if g.unsaved {
		g.unsaved = false
		c.unsavedOffsets.Add(-1)
	}
	g.dirty = true
	c.offsetsStoredAgain()
}

// createFile writes a new offset file holding the current offset.
func (g *groupOffset) createFile() error {
	dir := g.t.dir()
	cfg := &g.t.s.c.cfg.Storage
	if err := os.MkdirAll(dir, cfg.DirMode); err != nil {
		return fmt.Errorf("create groups directory: %w", err)
	}
	g.seq = 1
	if err := writeFileAtomic(g.path, encodeOffsetFile(g.name, g.offset.Load(), g.seq), cfg.FileMode, true); err != nil {
		return fmt.Errorf("create offset file for group %q: %w", g.name, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("sync groups directory: %w", err)
	}
	return nil
}

// writeSlot stores off in the older slot: one small write in place.
func (g *groupOffset) writeSlot(off int64) error {
	g.seq++
	slot := make([]byte, offsetSlotBytes)
	binary.LittleEndian.PutUint64(slot[0:], g.seq)
	binary.LittleEndian.PutUint64(slot[8:], uint64(off))
	binary.LittleEndian.PutUint32(slot[16:], crc32.Checksum(slot[:16], castagnoli))
	f, err := os.OpenFile(g.path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("write offset of group %q: %w", g.name, err)
	}
	_, err = f.WriteAt(slot, g.slotBase+int64(g.seq%2)*offsetSlotSize)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write offset of group %q: %w", g.name, err)
	}
	return nil
}

// errOffsetNotStored is returned by sync for an offset that could not be
// written at all (persist said so when it failed).
var errOffsetNotStored = errors.New("consumer offset is not stored yet")

// sync stores an offset a failed write left in memory, then makes the
// file durable.
func (g *groupOffset) sync() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.unsaved {
		g.persist()
		if g.unsaved {
			return fmt.Errorf("%w: group %q", errOffsetNotStored, g.name)
		}
	}
	if !g.dirty {
		return nil
	}
	f, err := os.OpenFile(g.path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = datasync(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		g.dirty = false
	}
	return err
}

// loaded returns the groups this process has used on the shard.
func (t *groupTable) loaded() []*groupOffset {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*groupOffset, 0, len(t.groups))
	for _, g := range t.groups {
		out = append(out, g)
	}
	return out
}

// syncAll makes every loaded group's offset durable.
func (t *groupTable) syncAll() error {
	var errs []error
	for _, g := range t.loaded() {
		errs = append(errs, g.sync())
	}
	return errors.Join(errs...)
}

// closeAll forgets the loaded groups after syncing them.
func (t *groupTable) closeAll() error {
	err := t.syncAll()
	t.mu.Lock()
	clear(t.groups)
	t.mu.Unlock()
	return err
}

// onDisk returns every group of the shard with its current offset: groups
// used in this process from memory, others (consumers in other processes)
// from their files.
func (t *groupTable) onDisk() ([]*groupOffset, error) {
	names, err := t.foreignFiles()
	if err != nil {
		return nil, err
	}
	out := t.loaded()
	for i, g := range out {
		out[i] = g.fresher()
	}
	for _, name := range names {
		path := filepath.Join(t.dir(), name)
		b, err := readSmallFile(path, maxOffsetFileSize)
		if err == nil {
			var g groupOffset
			var off int64
			if g.name, off, _, err = decodeOffsetFile(b); err == nil {
				g.path = path
				g.offset.Store(off)
				out = append(out, &g)
				continue
			}
		}
		t.s.c.log.Warn("Ignoring unreadable consumer offset file", zap.String("file", path), zap.Error(err))
	}
	return out, nil
}

// foreignFiles lists offset files of groups this process has not loaded.
func (t *groupTable) foreignFiles() ([]string, error) {
	entries, err := os.ReadDir(t.dir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	loaded := map[string]bool{}
	for _, g := range t.loaded() {
		loaded[filepath.Base(g.path)] = true
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if !loaded[name] && isOffsetFileName(name) {
			names = append(names, name)
		}
	}
	return names, nil
}

// rewindAll moves every group of the shard whose offset is past entry
// back to it, durably (at open, before any consumer loads a group).
func (t *groupTable) rewindAll(entry int64) error {
	entries, err := os.ReadDir(t.dir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !isOffsetFileName(e.Name()) {
			continue
		}
		path := filepath.Join(t.dir(), e.Name())
		b, err := readSmallFile(path, maxOffsetFileSize)
		if err != nil {
			continue // unreadable: its group restarts from the oldest entry when used
		}
		name, off, seq, err := decodeOffsetFile(b)
		if err != nil || off <= entry {
			continue // a damaged file restarts its group from the oldest entry anyway
		}
		t.s.c.log.Warn("Rewinding a consumer group to re-deliver entries after damaged data",
			zap.String("stream", t.s.name), zap.String("group", name), zap.Int64("from", off), zap.Int64("to", entry))
		if err := writeFileAtomic(path, encodeOffsetFile(name, entry, seq+2), t.s.c.cfg.Storage.FileMode, true); err != nil {
			return fmt.Errorf("rewind consumer group %q: %w", name, err)
		}
	}
	return syncDir(t.dir())
}

// syncFiles makes every group's offset file durable, including files of
// consumers in other processes (an fsync flushes a file whoever wrote
// it). Retention calls it before deleting a segment the offsets allow.
func (t *groupTable) syncFiles() error {
	if err := t.syncAll(); err != nil {
		return err
	}
	names, err := t.foreignFiles()
	if err != nil {
		return err
	}
	for _, name := range names {
		f, err := os.Open(filepath.Join(t.dir(), name))
		if err != nil {
			continue // deleted meanwhile
		}
		err = datasync(f)
		_ = f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// stats reports every group on the shard.
func (t *groupTable) stats() []GroupStats {
	groups, err := t.onDisk()
	if err != nil {
		return nil
	}
	end := t.s.next.Load()
	out := make([]GroupStats, 0, len(groups))
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, g := range groups {
		off := g.offset.Load()
		out = append(out, GroupStats{Stream: t.s.name, Group: g.name, Offset: off, Lag: max(end-off, 0), Dropped: t.dropped[g.name]})
	}
	return out
}

func encodeOffsetFile(name string, off int64, seq uint64) []byte {
	base := offsetSlotBase(len(name))
	b := make([]byte, base+2*offsetSlotSize)
	copy(b[0:4], offsetMagic)
	b[4] = offsetVersion
	binary.LittleEndian.PutUint32(b[8:], uint32(len(name)))
	copy(b[12:], name)
	binary.LittleEndian.PutUint32(b[12+len(name):], crc32.Checksum(b[:12+len(name)], castagnoli))
	// Both slots start valid; the one with the higher sequence is current.
	for _, s := range []uint64{seq - 1, seq} {
		slot := b[base+int64(s%2)*offsetSlotSize:]
		binary.LittleEndian.PutUint64(slot[0:], s)
		binary.LittleEndian.PutUint64(slot[8:], uint64(off))
		binary.LittleEndian.PutUint32(slot[16:], crc32.Checksum(slot[:16], castagnoli))
	}
	return b
}

var errBadOffsetFile = errors.New("offset file is damaged")

func decodeOffsetFile(b []byte) (name string, off int64, seq uint64, err error) {
	if v, newer := newerOffsetFormat(b); newer {
		return "", 0, 0, fmt.Errorf("%w: version %d is newer than this release reads (%d)", ErrNewerFormat, v, offsetVersion)
	}
	if len(b) < 16 || string(b[0:4]) != offsetMagic || b[4] != offsetVersion {
		return "", 0, 0, fmt.Errorf("%w: bad magic or version", errBadOffsetFile)
	}
	n := int(binary.LittleEndian.Uint32(b[8:]))
	if n > len(b)-16 {
		return "", 0, 0, fmt.Errorf("%w: name length %d", errBadOffsetFile, n)
	}
	if crc32.Checksum(b[:12+n], castagnoli) != binary.LittleEndian.Uint32(b[12+n:]) {
		return "", 0, 0, fmt.Errorf("%w: header checksum mismatch", errBadOffsetFile)
	}
	name = string(b[12 : 12+n])
	base := offsetSlotBase(n)
	found := false
	for i := int64(0); i < 2; i++ {
		o := base + i*offsetSlotSize
		if o+offsetSlotBytes > int64(len(b)) {
			continue
		}
		slot := b[o : o+offsetSlotBytes]
		if crc32.Checksum(slot[:16], castagnoli) != binary.LittleEndian.Uint32(slot[16:]) {
			continue
		}
		if s := binary.LittleEndian.Uint64(slot[0:]); !found || s > seq {
			seq, off, found = s, int64(binary.LittleEndian.Uint64(slot[8:])), true
		}
	}
	if !found {
		return "", 0, 0, fmt.Errorf("%w: no valid offset slot", errBadOffsetFile)
	}
	return name, off, seq, nil
}

// readOffsetFile loads a group's offset, checking the file belongs to it.
func readOffsetFile(path, group string) (off int64, seq uint64, err error) {
	b, err := readSmallFile(path, maxOffsetFileSize)
	if err != nil {
		return 0, 0, err
	}
	name, off, seq, err := decodeOffsetFile(b)
	if err != nil {
		return 0, 0, err
	}
	if name != group {
		return 0, 0, fmt.Errorf("%w: it belongs to group %q", errBadOffsetFile, name)
	}
	return off, seq, nil
}
