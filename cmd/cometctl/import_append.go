// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"context"
	"fmt"

	"github.com/comet-otel/comet/internal/log"
)

// appender appends imported requests, one record per request, round
// robin over the streams from the first, in the order of the file: so a
// fresh directory exported again gives the records back in that order
// (export orders by append time, then entry number, then shard).
type appender struct {
	c       *log.Client
	sel     selection
	streams []string
	next    int
}

// newAppender decides the streams: the one selected, or shards 0..N-1 of
// the namespace, N being --shards, else the namespace's shard count in
// the directory (so an import adds no shard the exporter does not
// write), else the exporter's default of 16.
func newAppender(c *log.Client, o *importOptions) (*appender, error) {
	a := &appender{c: c, sel: o.sel}
	if o.sel.shard != nil {
		a.streams = []string{o.sel.pattern()}
		return a, nil
	}
	n := o.shards
	if n == 0 {
		names, err := c.Streams()
		if err != nil {
			return nil, err
		}
		for _, name := range o.sel.pick(names) {
			_, _, shard, _ := splitStream(name)
			n = max(n, int(shard)+1)
		}
	}
	if n == 0 {
		n = defaultShards
	}
	for i := range n {
		a.streams = append(a.streams, log.ShardStreamName(o.sel.ns, o.sel.ver, uint32(i)))
	}
	return a, nil
}

func (a *appender) append(ctx context.Context, rec inputRecord) error {
	stream := a.streams[a.next]
	a.next = (a.next + 1) % len(a.streams)
	_, err := a.c.Append(ctx, stream, [][]byte{rec.proto})
	return err
}

// describe names where the records went.
func (a *appender) describe() string {
	if len(a.streams) == 1 {
		return a.streams[0]
	}
	return fmt.Sprintf("shards 0 to %d of %s (round robin)", len(a.streams)-1, a.sel.label())
}
