// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
)

func TestClientDirName(t *testing.T) {
	otlp := component.MustNewType("otlp")
	tests := []struct {
		kind        component.Kind
		id          component.ID
		storageName string
		want        string
	}{
		{component.KindExporter, component.NewID(otlp), "logs", "exporter~otlp~~logs"},
		{component.KindExporter, component.NewIDWithName(otlp, "backup"), "", "exporter~otlp~backup~"},
		{component.KindReceiver, component.NewIDWithName(otlp, "a/b"), "x", "receiver~otlp~a.2Fb~x"},
		{component.KindExporter, component.NewIDWithName(otlp, "Primary"), "logs", "exporter~otlp~.50rimary~logs"},
		{component.KindExporter, component.NewIDWithName(otlp, "a~b"), "", "exporter~otlp~a.7Eb~"},
		{component.KindExporter, component.NewID(otlp), "../..", "exporter~otlp~~.2E.2E.2F.2E.2E"},
		{component.KindExporter, component.NewID(otlp), "é\x00", "exporter~otlp~~.C3.A9.00"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, clientDirName(tt.kind, tt.id, tt.storageName))
	}
}

// TestClientDirName_Injective checks that names which a naive join would
// confuse get different directories, and that no escaped name carries a
// byte outside the safe set.
func TestClientDirName_Injective(t *testing.T) {
	otlp := component.MustNewType("otlp")
	names := map[string]string{}
	add := func(id component.ID, storageName string) {
		got := clientDirName(component.KindExporter, id, storageName)
		key := id.String() + "|" + storageName
		if prev, dup := names[got]; dup {
			t.Fatalf("%q and %q share directory %q", prev, key, got)
		}
		names[got] = key
		for _, c := range []byte(got) {
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '~' || c >= 'A' && c <= 'F'
			require.True(t, ok, "byte %q in %q", c, got)
		}
		require.NotContains(t, []string{".", ".."}, got)
	}
	add(component.NewIDWithName(otlp, "a_b"), "c")
	add(component.NewIDWithName(otlp, "a"), "b_c")
	add(component.NewIDWithName(otlp, "a~b"), "c")
	add(component.NewIDWithName(otlp, "a"), "b~c")
	add(component.NewIDWithName(otlp, "a.2Fb"), "")
	add(component.NewIDWithName(otlp, "a/b"), "")
	add(component.NewIDWithName(otlp, "A"), "")
	add(component.NewIDWithName(otlp, "a"), "")
	add(component.NewID(otlp), "a")
	add(component.NewIDWithName(otlp, "x"), strings.Repeat("long", 100))
	add(component.NewIDWithName(otlp, "y"), strings.Repeat("long", 100))
}

func TestClientDirName_LongNamesAreHashed(t *testing.T) {
	got := clientDirName(component.KindExporter, component.MustNewID("otlp"), strings.Repeat("/", 100))
	require.True(t, strings.HasPrefix(got, hashedPrefix))
	require.Len(t, got, len(hashedPrefix)+64)
	require.NotContains(t, got, "~")
}
