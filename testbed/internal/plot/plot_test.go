// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package plot

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestChart_WriteSVG_IsWellFormedWithEverySeries(t *testing.T) {
	c := Chart{
		Title: "recovery", XLabel: "s", YLabel: "items",
		Series: []Series{
			{Name: "delivered", Color: "#1f77b4", Points: []Point{{0, 0}, {10, 500}, {20, 20000}}},
			{Name: "backlog", Color: "#d62728", Dashed: true, Points: []Point{{0, 0}, {10, 20000}, {20, 0}}},
			{Name: "empty", Color: "#000"},
		},
		Markers: []Marker{{X: 12, Label: "backend back"}},
	}
	var b strings.Builder
	if err := c.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, svg)
	}
	if n := strings.Count(svg, "<polyline"); n != 2 {
		t.Errorf("%d polylines, want 2 (the empty series is left out)", n)
	}
	for _, want := range []string{"delivered", "backlog", "backend back", "20k"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the chart has no %q", want)
		}
	}
}

func TestTicks_AreRoundAndCoverTheRange(t *testing.T) {
	for hi, want := range map[float64][]float64{
		1:     {0, 0.2, 0.4, 0.6000000000000001, 0.8, 1},
		47:    {0, 10, 20, 30, 40, 50},
		20000: {0, 5000, 10000, 15000, 20000},
	} {
		got := ticks(hi)
		if len(got) != len(want) || got[len(got)-1] < hi {
			t.Errorf("ticks(%v) = %v, want %v", hi, got, want)
		}
	}
	if got := label(1500); got != "1.5k" {
		t.Errorf("label(1500) = %q", got)
	}
}
