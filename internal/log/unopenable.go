// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"go.uber.org/zap"
)

// unopenable reports a shard found on disk that cannot be opened (a
// segment that cannot be read, a directory entry of the wrong kind where
// a file must be created): the rest of the directory opens without it.
// The shard's files are left as they are; an Append, Read or Len on the
// stream tries to open it again and returns the error. The error is
// logged once per shard and cause, however often discovery meets it.
func (c *Client) unopenable(k streamKey, err error) {
	msg := err.Error()
	if prev, loaded := c.failedShards.Swap(k, msg); loaded && prev == msg {
		return
	}
	c.stats.errors.Add(1)
	c.log.Error("Cannot open a stream; the log opens without it and its files are left as they are",
		zap.String("stream", k.name()), zap.Error(err))
}
