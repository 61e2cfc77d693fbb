// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter/xexporter"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/receiver/xreceiver"
	"go.opentelemetry.io/otel/attribute"

	"github.com/comet-otel/comet/cometexporter"
	"github.com/comet-otel/comet/cometreceiver/internal/metadatatest"
	"github.com/comet-otel/comet/internal/otlpstream"
)

// genProfiles makes one request: a resource with a profile of samples,
// each sample labelled through the request's dictionary.
func genProfiles(seq, samples int) pprofile.Profiles {
	pd := pprofile.NewProfiles()
	dict := pd.Dictionary()
	dict.StringTable().Append("", "sample", "cpu", "nanoseconds")
	rp := pd.ResourceProfiles().AppendEmpty()
	rp.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", seq%3))
	p := rp.ScopeProfiles().AppendEmpty().Profiles().AppendEmpty()
	p.SampleType().SetTypeStrindex(2)
	p.SampleType().SetUnitStrindex(3)
	for i := range samples {
		attr := dict.AttributeTable().AppendEmpty()
		attr.SetKeyStrindex(1)
		attr.Value().SetStr(fmt.Sprintf("seq=%d sample=%d", seq, i))
		s := p.Samples().AppendEmpty()
		s.AttributeIndices().Append(int32(dict.AttributeTable().Len() - 1))
		s.Values().Append(int64(seq*100 + i))
	}
	return pd
}

// sampleLabels lists each sample's label and value, resolved through the
// request's own dictionary.
func sampleLabels(pds []pprofile.Profiles) []string {
	var out []string
	for _, pd := range pds {
		attrs, strs := pd.Dictionary().AttributeTable(), pd.Dictionary().StringTable()
		for _, rp := range pd.ResourceProfiles().All() {
			svc, _ := rp.Resource().Attributes().Get("service.name")
			for _, sp := range rp.ScopeProfiles().All() {
				for _, p := range sp.Profiles().All() {
					for _, s := range p.Samples().All() {
						a := attrs.At(int(s.AttributeIndices().At(0)))
						out = append(out, fmt.Sprintf("%s|%s=%s|%d|%s", svc.Str(), strs.At(int(a.KeyStrindex())), a.Value().Str(),
							s.Values().At(0), strs.At(int(p.SampleType().TypeStrindex()))))
					}
				}
			}
		}
	}
	return out
}

func TestRoundTrip_Profiles(t *testing.T) {
	dir := t.TempDir()
	ecfg := exporterConfig(dir)
	ecfg.Shards = 4
	exp, err := cometexporter.NewFactory().(xexporter.Factory).CreateProfiles(context.Background(), exporterSettings(), ecfg)
	_, _ = start(t, exp, err)
	sink := new(consumertest.ProfilesSink)
	r, err := NewFactory().(xreceiver.Factory).CreateProfiles(context.Background(), receiverSettings(), receiverConfig(dir), sink)
	_, _ = start(t, r, err)

	var want []string
	for seq := range roundTripRequests {
		pd := genProfiles(seq, 5)
		want = append(want, sampleLabels([]pprofile.Profiles{pd})...)
		// The exporter declares that it modifies profiles (their
		// marshaler moves strings into the dictionary).
		require.True(t, exp.Capabilities().MutatesData)
		require.NoError(t, exp.ConsumeProfiles(context.Background(), pd))
	}
	eventually(t, 10*time.Second, func() bool { return sink.SampleCount() >= roundTripRequests*5 }, "samples delivered")
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, roundTripRequests*5, sink.SampleCount())
	assert.ElementsMatch(t, want, sampleLabels(sink.AllProfiles()),
		"every sample arrives with its labels, through merged dictionaries")
	assert.Less(t, len(sink.AllProfiles()), roundTripRequests, "consecutive records are merged")
	assert.Equal(t, "profiles:v1:shard:*", otlpstream.Profiles.StreamPattern())
}

// TestProfiles_GroupsStartAtRetentionAndTelemetry runs what the other
// signals support on profiles: two consumer groups reading independently,
// a new group starting at an RFC 3339 time, the lag gauge per group and
// signal, and retention deleting what every group has acknowledged.
func TestProfiles_GroupsStartAtRetentionAndTelemetry(t *testing.T) {
	dir := t.TempDir()
	ecfg := exporterConfig(dir)
	ecfg.Shards = 2
	ecfg.PartitionBy = cometexporter.PartitionResource
	exp, err := cometexporter.NewFactory().(xexporter.Factory).CreateProfiles(context.Background(), exporterSettings(), ecfg)
	_, _ = start(t, exp, err)
	send := func(from, to int) {
		for seq := from; seq < to; seq++ {
			require.NoError(t, exp.ConsumeProfiles(context.Background(), genProfiles(seq, 5)))
		}
	}
	send(0, 10)
	time.Sleep(20 * time.Millisecond)
	from := time.Now()
	time.Sleep(20 * time.Millisecond)
	send(10, 20)

	startGroup := func(group string, startAt StartAt) (*consumertest.ProfilesSink, *componenttest.Telemetry) {
		tt := newTelemetry(t)
		cfg := receiverConfig(dir)
		cfg.Group, cfg.StartAt = group, startAt
		sink := new(consumertest.ProfilesSink)
		r, err := NewFactory().(xreceiver.Factory).CreateProfiles(context.Background(), metadatatest.NewSettings(tt), cfg, sink)
		_, _ = start(t, r, err)
		return sink, tt
	}
	all, allTelemetry := startGroup("all", StartAtEarliest)
	window, _ := startGroup("window", StartAt(from.UTC().Format(time.RFC3339Nano)))
	eventually(t, 10*time.Second, func() bool { return all.SampleCount() == 100 && window.SampleCount() == 50 },
		"group all gets every sample, group window those sent after start_at")
	for _, label := range sampleLabels(window.AllProfiles()) {
		for seq := range 10 {
			assert.NotContains(t, label, fmt.Sprintf("=seq=%d sample=", seq), "sent before group window's start_at")
		}
	}
	eventually(t, 10*time.Second, func() bool {
		return metricValue(t, allTelemetry, "otelcol_comet_receiver_lag",
			attribute.String("group", "all"), attribute.String("signal", "profiles")) == 0
	}, "the lag gauge of group all on profiles reaches 0")
	assert.Equal(t, int64(20), metricValue(t, allTelemetry, "otelcol_comet_receiver_delivered_records"))

	// Both groups acknowledged everything: retention deletes the
	// segments (the idle active ones after a second).
	eventually(t, 10*time.Second, func() bool { return segmentBytes(t, filepath.Join(dir, "profiles")) == 0 },
		"consumed profiles segments deleted")
}

// segmentBytes sums the sizes of the segment files under dir.
func segmentBytes(t *testing.T, dir string) int64 {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".comet") {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	require.NoError(t, err)
	return total
}
