// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
)

// Reclaiming consumed segments without a writer. Retention is the
// writer's; but a directory drained by a collector that only reads (the
// writer stopped, or runs elsewhere and is down) would keep every
// consumed segment until a writer starts again. So the writer records the
// part of its policy that lets a reader act in comet.policy, and a
// ReadOnly client that finds no writer running deletes, in its place, the
// sealed segments every group has acknowledged, as the writer would:
//
//   - only when comet.policy says delete_consumed, and keeping
//     min_files_to_keep segments per shard;
//   - holding the writer lock (comet.lock) while it deletes, taken without
//     waiting: a running writer holds it and does this itself, and a
//     writer that starts meanwhile waits for it (acquireDirLock);
//   - never a shard's last segment, which the next writer appends to.

// policyFileName records the writer's reclamation policy for readers.
const policyFileName = "comet.policy"

// reclaimPolicy is what comet.policy holds (JSON).
type reclaimPolicy struct {
	DeleteConsumed bool `json:"delete_consumed"`
	MinFilesToKeep int  `json:"min_files_to_keep"`
}

// writePolicy records the writer's policy for readers. A failure is
// logged: readers then only leave consumed segments to the next writer.
func (c *Client) writePolicy() {
	b, err := json.Marshal(reclaimPolicy{DeleteConsumed: c.cfg.Retention.DeleteConsumed, MinFilesToKeep: c.cfg.Retention.MinFilesToKeep})
	if err == nil {
		err = writeFileAtomic(filepath.Join(c.dir, policyFileName), b, c.cfg.Storage.FileMode, false)
	}
	if err != nil {
		c.log.Warn("Could not record the retention policy for readers; consumed segments wait for a writer to be deleted", zap.Error(err))
	}
}

// readPolicy returns the policy the last writer recorded (none: nothing to
// reclaim).
func readPolicy(dir string) (reclaimPolicy, error) {
	var p reclaimPolicy
	b, err := readSmallFile(filepath.Join(dir, policyFileName), 4<<10)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("%s: %w", filepath.Join(dir, policyFileName), err)
	}
	return p, nil
}

// reclaimConsumed is a ReadOnly client's retention run: with no writer
// running, it deletes the consumed sealed segments the writer's policy
// lets go (see above).
func (c *Client) reclaimConsumed() {
	p, err := readPolicy(c.dir)
	if err != nil || !p.DeleteConsumed {
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			c.log.Warn("Cannot read the writer's retention policy; leaving consumed segments to the writer", zap.Error(err))
		}
		return
	}
	lock, err := tryDirLock(c.dir)
	if err != nil || lock == nil {
		return // a writer runs: reclaiming is its job
	}
	defer func() { _ = lock.release() }()
	// Retention's own rule, with the writer's policy: only consumed
	// segments go; a shard's last segment never does (removeSegment).
	r := &RetentionConfig{DeleteConsumed: true, MinFilesToKeep: max(p.MinFilesToKeep, 1)}
	for _, s := range c.allShards() {
		s.refresh()
		c.cleanShard(r, s, c.clock.since(), 0)
	}
}

// reclaimLoop runs reclaimConsumed every CleanupInterval and soon after
// an acknowledgement completes a segment (kickRetention), at most every
// minKickSpacing.
func (c *Client) reclaimLoop() {
	defer c.bg.Done()
	runEvery(c.stop, c.retentionKick, c.cfg.Retention.CleanupInterval, func() time.Duration {
		c.reclaimConsumed()
		return 0
	})
}
