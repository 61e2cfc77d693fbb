// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/comet-otel/comet/cometexporter"
)

// Two receivers of one group (two collectors on one buffer, or one during
// a rolling restart) split the shards: each request is delivered once, by
// one of them. When one stops, the other delivers the rest.
func TestGroup_TwoReceiversSplitTheShardsAndOneTakesOver(t *testing.T) {
	dir := t.TempDir()
	ecfg := exporterConfig(dir)
	ecfg.PartitionBy = cometexporter.PartitionRoundRobin
	exp, es := startLogsExporter(t, ecfg)
	defer func() { require.NoError(t, es.stop()) }()
	seq := 0
	write := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); seq++ {
			require.NoError(t, exp.ConsumeLogs(context.Background(), genLogs(seq, 1)))
			time.Sleep(time.Millisecond)
		}
	}

	first, second := newSeqSink(), newSeqSink()
	r1 := startLogsReceiver(t, receiverSettings(), receiverConfig(dir), first)
	r2 := startLogsReceiver(t, receiverSettings(), receiverConfig(dir), second)
	write(3 * time.Second) // both join and split the shards
	_, before1 := first.snapshot()
	_, before2 := second.snapshot()
	write(time.Second)
	_, after1 := first.snapshot()
	_, after2 := second.snapshot()
	require.Greater(t, after1, before1, "the first receiver delivers its share")
	require.Greater(t, after2, before2, "the second receiver delivers its share")

	require.NoError(t, r1.stop())
	write(2 * time.Second)
	eventually(t, 10*time.Second, func() bool {
		c1, _ := first.snapshot()
		c2, _ := second.snapshot()
		for s := range seq {
			if c1[s]+c2[s] == 0 {
				return false
			}
		}
		return true
	}, "the second receiver delivers what the first left")
	require.NoError(t, r2.stop())
	c1, _ := first.snapshot()
	c2, _ := second.snapshot()
	for s := range seq {
		require.Equal(t, 1, c1[s]+c2[s], "request %d is delivered once", s)
	}
}
