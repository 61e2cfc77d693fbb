// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package plot renders line charts as SVG: axes with round ticks, one polyline per series,
// a legend. It is small on purpose; the testbed uses it to draw what a run measured.
package plot // import "github.com/comet-otel/comet/testbed/internal/plot"

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Point is one sample of a series.
type Point struct{ X, Y float64 }

// Series is one line of the chart.
type Series struct {
	Name   string
	Color  string // an SVG color, such as "#1f77b4"
	Dashed bool
	Points []Point
}

// Chart is a line chart.
type Chart struct {
	Title          string
	XLabel, YLabel string
	Series         []Series
	// Markers are vertical lines at an X with a label, such as the moment an outage ends.
	Markers []Marker
}

// Marker is a labelled vertical line.
type Marker struct {
	X     float64
	Label string
}

const (
	width, height            = 900, 480
	left, right, top, bottom = 80, 220, 40, 50
)

// WriteSVG renders the chart. Empty series are left out; with no point at all it still
// writes a valid, empty chart.
func (c Chart) WriteSVG(w io.Writer) error {
	maxX, maxY := c.bounds()
	xTicks, yTicks := ticks(maxX), ticks(maxY)
	maxX, maxY = max(maxX, xTicks[len(xTicks)-1]), max(maxY, yTicks[len(yTicks)-1])
	px := func(x float64) float64 { return left + x/maxX*(width-left-right) }
	py := func(y float64) float64 { return height - bottom - y/maxY*(height-top-bottom) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(c.Title))
	for _, t := range xTicks {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n",
			px(t), top, px(t), height-bottom, px(t), height-bottom+16, label(t))
	}
	for _, t := range yTicks {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, py(t), width-right, py(t), left-6, py(t)+4, label(t))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", (left+width-right)/2, height-12, html.EscapeString(c.XLabel))
	fmt.Fprintf(&b, `<text transform="translate(16,%d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", (top+height-bottom)/2, html.EscapeString(c.YLabel))
	for _, m := range c.Markers {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#888" stroke-dasharray="2,3"/><text x="%.1f" y="%d" fill="#555">%s</text>`+"\n",
			px(m.X), top, px(m.X), height-bottom, px(m.X)+4, top+12, html.EscapeString(m.Label))
	}
	legendY := top
	for _, s := range c.Series {
		if len(s.Points) == 0 {
			continue
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6,4"`
		}
		var pts []string
		for _, p := range s.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p.X), py(p.Y)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", s.Color, dash, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/><text x="%d" y="%d">%s</text>`+"\n",
			width-right+10, legendY, width-right+34, legendY, s.Color, dash, width-right+40, legendY+4, html.EscapeString(s.Name))
		legendY += 20
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// bounds returns the largest X and Y of every series and marker, at least 1.
func (c Chart) bounds() (maxX, maxY float64) {
	maxX, maxY = 1, 1
	for _, s := range c.Series {
		for _, p := range s.Points {
			maxX, maxY = max(maxX, p.X), max(maxY, p.Y)
		}
	}
	for _, m := range c.Markers {
		maxX = max(maxX, m.X)
	}
	return maxX, maxY
}

// ticks returns about six round tick values from 0 to at least hi.
func ticks(hi float64) []float64 {
	raw := hi / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := 0.0; ; v += step {
		out = append(out, v)
		if v >= hi {
			return out
		}
	}
}

// label writes a tick value compactly: 1500 as 1.5k, 2000000 as 2M.
func label(v float64) string {
	switch {
	case v >= 1e6:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v/1e6), "0"), ".") + "M"
	case v >= 1e3:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v/1e3), "0"), ".") + "k"
	}
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}
