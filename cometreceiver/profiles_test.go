// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter/xexporter"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/receiver/xreceiver"

	"github.com/comet-otel/comet/cometexporter"
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
