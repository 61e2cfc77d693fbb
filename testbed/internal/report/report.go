// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package report collects scenario results into markdown tables, one per scenario with one
// row per variant, so that the components compare side by side.
package report // import "github.com/comet-otel/comet/testbed/internal/report"

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Table is one scenario's results.
type Table struct {
	Title   string
	Notes   []string
	Columns []string
	Rows    [][]string
}

// Grid is a table filled cell by cell: one row per metric, one column per variant, so that
// every scenario's headline numbers read side by side.
type Grid struct {
	Title  string
	Corner string
	rows   []string
	cols   []string
	cells  map[[2]string]string
}

// Report is safe for concurrent use by parallel subtests.
type Report struct {
	mu     sync.Mutex
	tables map[string]*Table
	grids  map[string]*Grid
	order  []string // keys of tables and grids, in creation order
}

// New returns an empty report.
func New() *Report { return &Report{tables: map[string]*Table{}, grids: map[string]*Grid{}} }

// Grid returns the grid with key, creating it on first use.
func (r *Report) Grid(key, title, corner string) *Grid {
	r.mu.Lock()
	defer r.mu.Unlock()
	if g, ok := r.grids[key]; ok {
		return g
	}
	g := &Grid{Title: title, Corner: corner, cells: map[[2]string]string{}}
	r.grids[key] = g
	r.order = append(r.order, key)
	return g
}

// SetCell sets the cell of row and column in grid key, adding the row or column on first use.
func (r *Report) SetCell(key, row, col, value string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, ok := r.grids[key]
	if !ok {
		return fmt.Errorf("report: no grid %q", key)
	}
	if !slices.Contains(g.rows, row) {
		g.rows = append(g.rows, row)
	}
	if !slices.Contains(g.cols, col) {
		g.cols = append(g.cols, col)
	}
	g.cells[[2]string{row, col}] = value
	return nil
}

// Table returns the table with key, creating it with title and columns on first use.
func (r *Report) Table(key, title string, columns ...string) *Table {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.tables[key]; ok {
		return t
	}
	t := &Table{Title: title, Columns: columns}
	r.tables[key] = t
	r.order = append(r.order, key)
	return t
}

// AddRow appends a row; cells beyond the columns are an error, missing ones are left blank.
func (r *Report) AddRow(key string, cells ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.tables[key]
	if !ok {
		return fmt.Errorf("report: no table %q", key)
	}
	if len(cells) > len(t.Columns) {
		return fmt.Errorf("report: table %q has %d columns, row has %d cells", key, len(t.Columns), len(cells))
	}
	row := make([]string, len(t.Columns))
	copy(row, cells)
	t.Rows = append(t.Rows, row)
	return nil
}

// AddNote appends a note printed under the table, once.
func (r *Report) AddNote(key, note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.tables[key]
	if !ok {
		return
	}
	for _, n := range t.Notes {
		if n == note {
			return
		}
	}
	t.Notes = append(t.Notes, note)
}

// Empty reports whether no table has a row.
func (r *Report) Empty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tables {
		if len(t.Rows) > 0 {
			return false
		}
	}
	for _, g := range r.grids {
		if len(g.cells) > 0 {
			return false
		}
	}
	return true
}

// Markdown renders the header lines and every table that has rows.
func (r *Report) Markdown(header []string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, h := range header {
		b.WriteString(h)
		b.WriteString("\n")
	}
	for _, key := range r.order {
		if g, ok := r.grids[key]; ok {
			writeGrid(&b, g)
			continue
		}
		t := r.tables[key]
		if len(t.Rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n", t.Title)
		b.WriteString("| " + strings.Join(t.Columns, " | ") + " |\n")
		b.WriteString("|" + strings.Repeat(" --- |", len(t.Columns)) + "\n")
		for _, row := range t.Rows {
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
		if len(t.Notes) > 0 {
			b.WriteString("\n")
			for _, n := range t.Notes {
				b.WriteString("- " + n + "\n")
			}
		}
	}
	return b.String()
}

func writeGrid(b *strings.Builder, g *Grid) {
	if len(g.cells) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### %s\n\n", g.Title)
	b.WriteString("| " + g.Corner + " | " + strings.Join(g.cols, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(g.cols)+1) + "\n")
	for _, row := range g.rows {
		cells := make([]string, len(g.cols))
		for i, col := range g.cols {
			if v, ok := g.cells[[2]string{row, col}]; ok {
				cells[i] = v
			} else {
				cells[i] = "–"
			}
		}
		b.WriteString("| " + row + " | " + strings.Join(cells, " | ") + " |\n")
	}
}

// Write stores the markdown as <dir>/<UTC timestamp>.md and <dir>/latest.md and returns the
// timestamped path.
func (r *Report) Write(dir string, header []string, now time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	md := []byte(r.Markdown(header))
	path := filepath.Join(dir, now.UTC().Format("20060102T150405Z")+".md")
	if err := os.WriteFile(path, md, 0o644); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "latest.md"), md, 0o644); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	return path, nil
}

// MiB formats bytes as mebibytes with one decimal.
func MiB(bytes int64) string { return fmt.Sprintf("%.1f", float64(bytes)/(1<<20)) }

// Seconds formats a duration as seconds with two decimals.
func Seconds(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

// Int formats an integer with thousands separators.
func Int(n int64) string {
	s := fmt.Sprintf("%d", n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
