// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Consumer-group membership. The Processes of one group that ask for it
// (WithGroupMembership), in this process or any other on the directory,
// split the shards among them, and take over the shards of a member that
// stops or dies. Everything is a lock file the kernel releases when its
// holder dies, under <dataDir>/comet.members/<ns>.<ver>.g-<32 hex>/:
//
//   - m-<16 hex>.lock: one per live member, locked exclusively by it. A
//     member whose file can be locked by someone else is dead (or left
//     without removing it): whoever notices removes the file. A file
//     younger than joinGrace is never probed: its creator may not hold
//     its lock yet.
//   - s-NNNN.lock: one per shard, locked exclusively by the member that
//     reads the shard. Only its holder reads or acknowledges the shard
//     for the group, so two members never deliver the same entries, even
//     while their views of the membership differ for a moment.
//
// Assignment: the live members sorted by name; the member of rank r of n
// wants the shards s with s % n == r. Every rebalanceEvery a member lists
// the members again, lets go of the shards it no longer wants (between
// batches: nothing is in flight then, everything delivered is
// acknowledged) and claims the ones it wants; a shard whose previous
// holder has not let go yet is claimed again every claimRetry. A member
// that claims a shard reloads the group's offset from the shard's offset
// file, where the previous holder, in whatever process, left it.
//
// Handover: a member that stops lets go of its shards at once; the others
// take them at their next rebalance, within rebalanceEvery. A member that
// dies delivered, at most, the batch it had not acknowledged: the next
// holder delivers that batch again (at least once).

// membersDirName holds the membership directories of the groups. Its name
// has a '.', which no namespace can, so it never collides with a stream.
const membersDirName = "comet.members"

const (
	// rebalanceEvery is how often a member looks at who else is in its group.
	rebalanceEvery = time.Second
	// claimRetry is how often a member tries again to claim a shard it
	// wants while the previous holder still holds it.
	claimRetry = 100 * time.Millisecond
	// joinGrace protects a new member file from being taken for a dead
	// member's before its creator has locked it.
	joinGrace = 5 * time.Second
	// joinSettle is how long a new member waits before it takes shards,
	// so that members started together (a receiver's workers) see one
	// another at their first look, instead of one taking every shard and
	// handing them over later.
	joinSettle = 100 * time.Millisecond
	// joinLockWait bounds how long a new member waits for its own file's
	// lock (another member probing it holds it for a moment).
	joinLockWait = time.Second
)

// member is one Process's place in its consumer group.
type member struct {
	c     *Consumer
	dir   string
	name  string   // m-<id>.lock
	self  *os.File // holds the lock on name
	owned map[uint32]*os.File

	members []string  // live member file names, sorted, as last listed
	listed  time.Time // when members was listed
	dirTime time.Time // the directory's modification time when listed
	looked  time.Time // last look at the directory's modification time
	stale   bool      // the directory changed since members was listed
	pending bool      // a wanted shard is still held by someone else
	tried   time.Time // last attempt to claim a pending shard
}

// groupMembersDir is the membership directory of the consumer's group.
func (c *Consumer) groupMembersDir() string {
	return filepath.Join(c.c.dir, membersDirName, strings.TrimSuffix(presenceFileName(c.nk, c.opts.Group), ".lock"))
}

// join makes the consumer a member of its group.
func (c *Consumer) join() (*member, error) {
	dir := c.groupMembersDir()
	if err := os.MkdirAll(dir, c.c.cfg.Storage.DirMode); err != nil {
		return nil, fmt.Errorf("join consumer group %q: %w", c.opts.Group, err)
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("join consumer group %q: %w", c.opts.Group, err)
	}
	name := "m-" + hex.EncodeToString(id) + ".lock"
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE|os.O_EXCL, c.c.cfg.Storage.FileMode)
	if err != nil {
		return nil, fmt.Errorf("join consumer group %q: %w", c.opts.Group, err)
	}
	if err := lockWaiting(f, joinLockWait); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, fmt.Errorf("join consumer group %q: lock %s: %w", c.opts.Group, f.Name(), err)
	}
	return &member{c: c, dir: dir, name: name, self: f, owned: map[uint32]*os.File{}}, nil
}

// due reports whether the member should rebalance now: when the members
// should be listed again (needsList), and every claimRetry while a wanted
// shard is pending.
func (m *member) due() bool {
	return m.needsList() || m.pending && time.Since(m.tried) >= claimRetry
}

// needsList reports whether the members should be listed again: every
// rebalanceEvery (a member that died changes no file), and as soon as one
// joined or left (the directory changed; looked at every claimRetry).
func (m *member) needsList() bool {
	if m.stale || m.members == nil || time.Since(m.listed) >= rebalanceEvery {
		return true
	}
	if time.Since(m.looked) < claimRetry {
		return false
	}
	m.looked = time.Now()
	info, err := os.Stat(m.dir)
	m.stale = err == nil && !info.ModTime().Equal(m.dirTime)
	return m.stale
}

// rebalance brings the member's shards in line with the group's members:
// it lets go of the candidates it no longer wants and claims the ones it
// wants, and returns the shards it holds, in order. The caller has nothing
// in flight on the shards it held.
func (m *member) rebalance(candidates []uint32) []uint32 {
	if m.needsList() {
		m.list()
	}
	want := m.wanted(candidates)
	before := len(m.owned)
	changed := false
	for id, f := range m.owned {
		if !slices.Contains(want, id) {
			_ = f.Close()
			delete(m.owned, id)
			changed = true
		}
	}
	m.pending, m.tried = false, time.Now()
	for _, id := range want {
		if m.owned[id] != nil {
			continue
		}
		if m.claim(id) {
			changed = true
		} else {
			m.pending = true
		}
	}
	held := m.held()
	if changed {
		m.c.c.log.Info("Consumer group member's shards changed",
			zap.String("group", m.c.opts.Group), zap.String("stream", m.c.opts.Stream),
			zap.Int("members", len(m.members)), zap.Int("shards_before", before), zap.Uint32s("shards", held))
	}
	return held
}

// wanted returns the candidates this member's rank gives it.
func (m *member) wanted(candidates []uint32) []uint32 {
	n := uint32(len(m.members))
	rank, found := slices.BinarySearch(m.members, m.name)
	if !found || n == 0 {
		return nil
	}
	var want []uint32
	for _, id := range candidates {
		if id%n == uint32(rank) {
			want = append(want, id)
		}
	}
	return want
}

// held returns the shards the member holds, in order.
func (m *member) held() []uint32 {
	out := make([]uint32, 0, len(m.owned))
	for id := range m.owned {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// claim takes the lock of shard id; on success the group's offset on it is
// reloaded from its file.
func (m *member) claim(id uint32) bool {
	f, err := os.OpenFile(filepath.Join(m.dir, fmt.Sprintf("s-%04d.lock", id)), os.O_RDWR|os.O_CREATE, m.c.c.cfg.Storage.FileMode)
	if err != nil {
		m.c.c.log.Warn("Cannot open a consumer group's shard lock", zap.Error(err))
		return false
	}
	if held, err := tryLockFile(f); err != nil || held {
		_ = f.Close()
		return false
	}
	m.owned[id] = f
	m.c.reloadOffset(id)
	return true
}

// list finds the live members of the group (this one included) and
// removes the files of dead ones.
func (m *member) list() {
	m.listed, m.stale = time.Now(), false
	if info, err := os.Stat(m.dir); err == nil {
		m.dirTime = info.ModTime()
	}
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		m.c.c.log.Warn("Cannot list the consumer group's members; keeping the last list", zap.String("dir", m.dir), zap.Error(err))
		return
	}
	live := []string{m.name}
	for _, e := range entries {
		name := e.Name()
		if name == m.name || !strings.HasPrefix(name, "m-") || !strings.HasSuffix(name, ".lock") {
			continue
		}
		if m.alive(name, e) {
			live = append(live, name)
		}
	}
	slices.Sort(live)
	m.members = live
}

// alive reports whether the member file name is held by a live member; a
// dead member's file is removed.
func (m *member) alive(name string, e os.DirEntry) bool {
	if info, err := e.Info(); err == nil && time.Since(info.ModTime()) < joinGrace {
		return true // joining
	}
	path := filepath.Join(m.dir, name)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false // removed by its owner or another member
	}
	held, err := tryLockFile(f)
	_ = f.Close()
	if err != nil || held {
		return err == nil
	}
	_ = os.Remove(path) // dead: nobody held it (names are never reused)
	return false
}

// leave lets go of every shard and leaves the group.
func (m *member) leave() {
	for id, f := range m.owned {
		_ = f.Close()
		delete(m.owned, id)
	}
	_ = m.self.Close()
	_ = os.Remove(m.self.Name())
}
