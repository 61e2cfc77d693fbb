// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package otlpstream

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// fixture builds requests of one signal and lists their items' identities
// in order, so a test can check that content survives a transformation.
type fixture[T any] struct {
	codec *Codec[T]
	// gen builds resources x scopes x items items, named "r<i>s<j>i<k>".
	gen func(resources, scopes, items int) T
	ids func(T) []string
}

func name(r, s, i int) string { return fmt.Sprintf("r%ds%di%d", r, s, i) }

var tracesFixture = fixture[ptrace.Traces]{
	codec: Traces,
	gen: func(resources, scopes, items int) ptrace.Traces {
		td := ptrace.NewTraces()
		for r := range resources {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutInt("r", int64(r))
			for s := range scopes {
				ss := rs.ScopeSpans().AppendEmpty()
				for i := range items {
					ss.Spans().AppendEmpty().SetName(name(r, s, i))
				}
			}
		}
		return td
	},
	ids: func(td ptrace.Traces) (out []string) {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					out = append(out, sp.Name())
				}
			}
		}
		return out
	},
}

var logsFixture = fixture[plog.Logs]{
	codec: Logs,
	gen: func(resources, scopes, items int) plog.Logs {
		ld := plog.NewLogs()
		for r := range resources {
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutInt("r", int64(r))
			for s := range scopes {
				sl := rl.ScopeLogs().AppendEmpty()
				for i := range items {
					sl.LogRecords().AppendEmpty().Body().SetStr(name(r, s, i))
				}
			}
		}
		return ld
	},
	ids: func(ld plog.Logs) (out []string) {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					out = append(out, lr.Body().Str())
				}
			}
		}
		return out
	},
}

// metricsFixture puts each scope's items as data points of one gauge, so
// halving reaches the data point level.
var metricsFixture = fixture[pmetric.Metrics]{
	codec: Metrics,
	gen: func(resources, scopes, items int) pmetric.Metrics {
		md := pmetric.NewMetrics()
		for r := range resources {
			rm := md.ResourceMetrics().AppendEmpty()
			rm.Resource().Attributes().PutInt("r", int64(r))
			for s := range scopes {
				g := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
				g.SetName("g")
				pts := g.SetEmptyGauge().DataPoints()
				for i := range items {
					pts.AppendEmpty().Attributes().PutStr("id", name(r, s, i))
				}
			}
		}
		return md
	},
	ids: func(md pmetric.Metrics) (out []string) {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					for _, p := range m.Gauge().DataPoints().All() {
						id, _ := p.Attributes().Get("id")
						out = append(out, id.Str())
					}
				}
			}
		}
		return out
	},
}

// profilesFixture gives each sample an attribute from the dictionary, so
// a wrong dictionary after a split or merge changes the identities.
var profilesFixture = fixture[pprofile.Profiles]{
	codec: Profiles,
	gen: func(resources, scopes, items int) pprofile.Profiles {
		pd := pprofile.NewProfiles()
		dict := pd.Dictionary()
		dict.StringTable().Append("", "id")
		for r := range resources {
			rp := pd.ResourceProfiles().AppendEmpty()
			rp.Resource().Attributes().PutInt("r", int64(r))
			for s := range scopes {
				p := rp.ScopeProfiles().AppendEmpty().Profiles().AppendEmpty()
				for i := range items {
					attr := dict.AttributeTable().AppendEmpty()
					attr.SetKeyStrindex(1)
					attr.Value().SetStr(name(r, s, i))
					p.Samples().AppendEmpty().AttributeIndices().Append(int32(dict.AttributeTable().Len() - 1))
				}
			}
		}
		return pd
	},
	ids: func(pd pprofile.Profiles) (out []string) {
		attrs := pd.Dictionary().AttributeTable()
		for _, rp := range pd.ResourceProfiles().All() {
			for _, sp := range rp.ScopeProfiles().All() {
				for _, p := range sp.Profiles().All() {
					for _, s := range p.Samples().All() {
						out = append(out, attrs.At(int(s.AttributeIndices().At(0))).Value().Str())
					}
				}
			}
		}
		return out
	},
}

func TestCodecs(t *testing.T) {
	t.Run("traces", tracesFixture.test)
	t.Run("metrics", metricsFixture.test)
	t.Run("logs", logsFixture.test)
	t.Run("profiles", profilesFixture.test)
}

func (f fixture[T]) test(t *testing.T) {
	t.Run("stream names", f.testNames)
	t.Run("marshal round trip", f.testRoundTrip)
	t.Run("JSON round trip through the converter", f.testConverter)
	t.Run("halve down to single items", f.testHalve)
	t.Run("move append keeps order", f.testMoveAppend)
	t.Run("regroup by resource", f.testParts)
}

func (f fixture[T]) testNames(t *testing.T) {
	ns := f.codec.Signal.String()
	assert.Equal(t, ns, f.codec.Namespace())
	assert.Equal(t, ns+":v1:shard:0003", f.codec.StreamName(3))
	assert.Equal(t, ns+":v1:shard:*", f.codec.StreamPattern())
}

func (f fixture[T]) testRoundTrip(t *testing.T) {
	d := f.gen(2, 2, 3)
	b, err := f.codec.Marshal(d)
	require.NoError(t, err)
	assert.Len(t, b, f.codec.Size(d))
	back, err := f.codec.Unmarshal(b)
	require.NoError(t, err)
	assert.Equal(t, f.ids(d), f.ids(back))
	assert.Equal(t, 12, f.codec.Count(back))
	_, err = f.codec.Unmarshal([]byte{0xff, 0xff, 0xff})
	assert.Error(t, err, "garbage must not decode")
}

// testHalve halves recursively and checks that the leaves are single items
// that, in order, are the original's items; the original is untouched.
func (f fixture[T]) testConverter(t *testing.T) {
	conv := Converters()[f.codec.Namespace()]
	require.NotNil(t, conv)
	assert.Equal(t, f.codec.Items, conv.Items)
	record, err := f.codec.Marshal(f.gen(2, 1, 3))
	require.NoError(t, err)
	j, items, err := conv.ProtoToJSON(record)
	require.NoError(t, err)
	assert.Equal(t, 6, items)
	back, items, err := conv.JSONToProto(j)
	require.NoError(t, err)
	assert.Equal(t, 6, items)
	d, err := f.codec.Unmarshal(back)
	require.NoError(t, err)
	want, err := f.codec.Unmarshal(record)
	require.NoError(t, err)
	assert.Equal(t, f.ids(want), f.ids(d), "protobuf -> JSON -> protobuf keeps every item")
	_, err = conv.CheckProto([]byte{0xff, 0xff, 0xff})
	assert.ErrorContains(t, err, "not an OTLP "+f.codec.Namespace()+" request in protobuf")
}

func (f fixture[T]) testHalve(t *testing.T) {
	d := f.gen(3, 2, 3)
	want := f.ids(d)
	var leaves []string
	var walk func(T)
	walk = func(x T) {
		a, b, ok := f.codec.Halve(x)
		if !ok {
			require.Equal(t, 1, f.codec.Count(x), "only a single item cannot be halved")
			leaves = append(leaves, f.ids(x)...)
			return
		}
		walk(a)
		walk(b)
	}
	walk(d)
	assert.Equal(t, want, leaves)
	assert.Equal(t, want, f.ids(d), "Halve must not modify its input")
	_, _, ok := f.codec.Halve(f.codec.New())
	assert.False(t, ok, "an empty request cannot be halved")
}

func (f fixture[T]) testMoveAppend(t *testing.T) {
	dst, src := f.gen(1, 1, 2), f.gen(2, 1, 1)
	want := append(f.ids(dst), f.ids(src)...)
	require.NoError(t, f.codec.MoveAppend(dst, src))
	assert.Equal(t, want, f.ids(dst))
	if f.codec.Signal != Profiles.Signal { // pprofile's MergeTo appends resources as they are
		assert.Equal(t, 2, f.codec.Resources(dst), "src's first resource equals dst's last one: merged, not repeated")
	}
	b, err := f.codec.Marshal(dst)
	require.NoError(t, err)
	back, err := f.codec.Unmarshal(b)
	require.NoError(t, err)
	assert.Equal(t, want, f.ids(back), "a merged request must encode what it holds")
}

func (f fixture[T]) testParts(t *testing.T) {
	src := f.gen(3, 1, 2)
	require.Equal(t, 3, f.codec.Resources(src))
	r, ok := f.codec.Resource(src, 2).Attributes().Get("r")
	require.True(t, ok)
	assert.EqualValues(t, 2, r.Int())
	part := f.codec.NewPart(src)
	f.codec.CopyResource(src, 2, part)
	f.codec.CopyResource(src, 0, part)
	all := f.ids(src)
	assert.Equal(t, append(all[4:6:6], all[0:2]...), f.ids(part))
	assert.Equal(t, all, f.ids(src), "copying must not modify the source")
}
