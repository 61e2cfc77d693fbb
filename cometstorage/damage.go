// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/comet-otel/comet/internal/log"
)

// A key directory restored from a snapshot was not checked against the
// records it points to: a record damaged since (a flipped bit) is found
// when a value is read from it. The key then takes the value it had
// before that record, or none, exactly as a full read of the log at open
// would have left it (that read skips damaged records): the batch the
// record held is lost whole, reported once, and the store keeps working.

// damagedRecord is a read of key that found its record damaged.
type damagedRecord struct {
	key string
	at  entry
	err error
}

func (d *damagedRecord) Error() string { return d.err.Error() }
func (d *damagedRecord) Unwrap() error { return d.err }

// readKey reads key's value at e, telling a damaged record apart.
func (c *client) readKey(ctx context.Context, key string, e entry) ([]byte, error) {
	v, err := c.read(ctx, e)
	var ce *log.CorruptionError
	if errors.As(err, &ce) {
		return nil, &damagedRecord{key: key, at: e, err: err}
	}
	return v, err
}

// maxRepairs bounds the damaged records one call steps back over.
const maxRepairs = 8

// forgetDamaged points a key whose record is damaged at the key's
// previous operation: it reads the log from the start up to the damaged
// record (a full pass over the log, paid only when damage is found) and
// applies the result unless the key was written meanwhile.
func (c *client) forgetDamaged(ctx context.Context, d *damagedRecord) error {
	prev, found, err := c.lastOpBefore(ctx, d.key, d.at)
	if err != nil {
		return fmt.Errorf("comet_storage: recover key %q from a damaged record: %w", d.key, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.kd.keys[d.key]; !ok || cur != d.at {
		return nil // written or moved meanwhile: read it again
	}
	c.kd.revert(d.key, d.at, prev, found)
	if c.damaged == nil {
		c.damaged = map[entry]bool{}
	}
	at := entry{seg: d.at.seg, off: d.at.off}
	if !c.damaged[at] {
		c.damaged[at] = true
		c.set.events.report(c.set.events.damaged, 1)
		c.log.Error("A damaged record lost the writes of its batch; its keys resume their previous values",
			zap.Int64("segment", d.at.seg), zap.Int64("offset", int64(d.at.off)), zap.Error(d.err))
	}
	return nil
}

// lastOpBefore finds the last intact operation on key in the records
// before the one at bad.
func (c *client) lastOpBefore(ctx context.Context, key string, bad entry) (prev entry, found bool, err error) {
	var ops []decodedOp
	err = c.eng.Scan(ctx, stream, 0, func(loc log.Location, data []byte) error {
		if loc.Segment > bad.seg || loc.Segment == bad.seg && loc.Offset >= int64(bad.off) {
			return errStopScan
		}
		if ops, err = parseRecord(data, ops[:0]); err != nil {
			return nil // skipped at open as well
		}
		for _, op := range ops {
			if string(op.key) != key {
				continue
			}
			found = true
			prev = entry{seg: loc.Segment, off: uint32(loc.Offset), size: uint32(loc.Size), voff: op.voff, vlen: op.vlen}
			if op.del {
				prev.vlen = tombstoneLen
			}
		}
		return nil
	})
	if errors.Is(err, errStopScan) {
		err = nil
	}
	return prev, found, err
}
