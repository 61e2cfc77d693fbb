// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package otlpstream // import "github.com/comet-otel/comet/internal/otlpstream"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pipeline/xpipeline"
)

var (
	profilesMarshaler   pprofile.ProtoMarshaler
	profilesUnmarshaler pprofile.ProtoUnmarshaler
)

// Profiles is the stream contract of profiles: items are samples. A
// request's profiles refer to its dictionary by index, so a part made of
// some of its resources carries a copy of the whole dictionary, and
// merging goes through pprofile's MergeTo, which re-indexes.
var Profiles = &Codec[pprofile.Profiles]{
	Signal:  xpipeline.SignalProfiles,
	Item:    "profile sample",
	Items:   "samples",
	New:     pprofile.NewProfiles,
	Marshal: profilesMarshaler.MarshalProfiles,
	// MarshalProfiles turns strings into dictionary references in place.
	MarshalMutates: true,
	Size:           profilesMarshaler.ProfilesSize,
	Unmarshal:      profilesUnmarshaler.UnmarshalProfiles,
	MarshalJSON:    (&pprofile.JSONMarshaler{}).MarshalProfiles,
	UnmarshalJSON:  (&pprofile.JSONUnmarshaler{}).UnmarshalProfiles,
	Count:          pprofile.Profiles.SampleCount,
	Halve:          halveProfiles,
	MoveAppend:     func(dst, src pprofile.Profiles) error { return src.MergeTo(dst) },
	Resources:      func(pd pprofile.Profiles) int { return pd.ResourceProfiles().Len() },
	Resource:       func(pd pprofile.Profiles, i int) pcommon.Resource { return pd.ResourceProfiles().At(i).Resource() },
	NewPart: func(src pprofile.Profiles) pprofile.Profiles {
		part := pprofile.NewProfiles()
		src.Dictionary().CopyTo(part.Dictionary())
		return part
	},
	CopyResource: func(src pprofile.Profiles, i int, dst pprofile.Profiles) {
		src.ResourceProfiles().At(i).CopyTo(dst.ResourceProfiles().AppendEmpty())
	},
}

func cloneProfiles(pd pprofile.Profiles) pprofile.Profiles {
	c := pprofile.NewProfiles()
	pd.CopyTo(c)
	return c
}

func halveProfiles(pd pprofile.Profiles) (pprofile.Profiles, pprofile.Profiles, bool) {
	scopes := func(p pprofile.Profiles) pprofile.ScopeProfilesSlice {
		return p.ResourceProfiles().At(0).ScopeProfiles()
	}
	profiles := func(p pprofile.Profiles) pprofile.ProfilesSlice { return scopes(p).At(0).Profiles() }
	samples := func(p pprofile.Profiles) pprofile.SampleSlice { return profiles(p).At(0).Samples() }
	return halveLevels(pd,
		levelOf[pprofile.Profiles, pprofile.ResourceProfiles](cloneProfiles, pprofile.Profiles.ResourceProfiles),
		levelOf[pprofile.Profiles, pprofile.ScopeProfiles](cloneProfiles, scopes),
		levelOf[pprofile.Profiles, pprofile.Profile](cloneProfiles, profiles),
		levelOf[pprofile.Profiles, pprofile.Sample](cloneProfiles, samples),
	)
}
