// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Register makes the group exist, at its start position, on every shard
// of the consumer's stream that exists now, without reading. From then on
// the group protects those shards' unread data from retention; a
// StartLatest group is placed at the current end. Shards created later
// join the group on first read.
func (c *Consumer) Register(ctx context.Context) error {
	shards, err := c.Shards()
	if err != nil {
		return err
	}
	for _, id := range shards {
		if err := ctx.Err(); err != nil {
			return err
		}
		s, ok, err := c.shard(id)
		if err != nil {
			return err
		}
		if ok {
			c.group(s)
		}
	}
	return nil
}

// DeleteConsumerGroup removes a group's offsets from every shard of a
// namespace (stream "ns:ver:shard:*") or from one stream, so the group no
// longer protects data from retention: for a consumer that was renamed
// or retired. Consumers of the group in this process start over as a
// new group at their next read.
func (c *Client) DeleteConsumerGroup(stream, group string) error {
	if c.closed.Load() {
		return ErrClosed
	}
	nk, single, err := parsePattern(stream)
	if err != nil {
		return err
	}
	if err := c.discover(nk); err != nil {
		return err
	}
	var errs []error
	for _, s := range c.shardsOf(nk) {
		if single != nil && s.key.shard != *single {
			continue
		}
		errs = append(errs, s.groups.remove(group))
	}
	c.kickRetention()
	return errors.Join(errs...)
}

// remove forgets a group on this shard and deletes its offset file.
func (t *groupTable) remove(name string) error {
	t.mu.Lock()
	delete(t.groups, name)
	delete(t.dropped, name)
	t.mu.Unlock()
	path := filepath.Join(t.dir(), groupFileName(name))
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete consumer group %q of %s: %w", name, t.s.name, err)
	}
	return nil
}
