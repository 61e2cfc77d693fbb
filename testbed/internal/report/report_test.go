// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReport_MarkdownAndWrite(t *testing.T) {
	r := New()
	r.Table("tp", "throughput", "variant", "items/s")
	r.Table("empty", "never filled", "x")
	if !r.Empty() {
		t.Fatal("a report without rows must be empty")
	}
	if err := r.AddRow("tp", "comet", Int(1234567)); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRow("tp", "a", "b", "c"); err == nil {
		t.Fatal("a row wider than the table must be refused")
	}
	if err := r.AddRow("nope", "a"); err == nil {
		t.Fatal("a row for an unknown table must be refused")
	}
	r.AddNote("tp", "fsync off")
	r.AddNote("tp", "fsync off")

	md := r.Markdown([]string{"# results"})
	want := "# results\n\n### throughput\n\n| variant | items/s |\n| --- | --- |\n| comet | 1,234,567 |\n\n- fsync off\n"
	if md != want {
		t.Fatalf("markdown:\n%s\nwant:\n%s", md, want)
	}

	dir := t.TempDir()
	path, err := r.Write(dir, []string{"# results"}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "20260102T030405Z.md" {
		t.Errorf("path = %s", path)
	}
	latest, err := os.ReadFile(filepath.Join(dir, "latest.md"))
	if err != nil || !strings.Contains(string(latest), "1,234,567") {
		t.Fatalf("latest.md = %q, %v", latest, err)
	}
}

func TestReport_GridFillsCellByCell(t *testing.T) {
	r := New()
	r.Grid("sum", "summary", "metric")
	if !r.Empty() {
		t.Fatal("an unfilled grid must be empty")
	}
	for _, c := range [][3]string{{"items/s", "comet", "10"}, {"items/s", "file_storage", "9"}, {"lost", "file_storage", "0"}} {
		if err := r.SetCell("sum", c[0], c[1], c[2]); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.SetCell("nope", "a", "b", "c"); err == nil {
		t.Fatal("a cell of an unknown grid must be refused")
	}
	want := "\n### summary\n\n| metric | comet | file_storage |\n| --- | --- | --- |\n| items/s | 10 | 9 |\n| lost | – | 0 |\n"
	if md := r.Markdown(nil); md != want {
		t.Fatalf("markdown:\n%q\nwant:\n%q", md, want)
	}
}

func TestFormatters(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -12345: "-12,345"} {
		if got := Int(n); got != want {
			t.Errorf("Int(%d) = %q, want %q", n, got, want)
		}
	}
	if got := MiB(3 << 19); got != "1.5" {
		t.Errorf("MiB = %q", got)
	}
	if got := Seconds(1500 * time.Millisecond); got != "1.50" {
		t.Errorf("Seconds = %q", got)
	}
}
