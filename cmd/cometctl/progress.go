// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"io"
	"time"
)

// progressEvery is how often a long run reports progress; runs shorter
// than that report nothing.
const progressEvery = 2 * time.Second

// progress prints status lines to stderr at most every progressEvery,
// the first one progressEvery after the start. A nil progress prints
// nothing (--quiet).
type progress struct {
	w    io.Writer
	now  func() time.Time
	next time.Time
}

func newProgress(w io.Writer, quiet bool) *progress {
	if quiet {
		return nil
	}
	return &progress{w: w, now: time.Now, next: time.Now().Add(progressEvery)}
}

// update prints line() if a report is due; line is not called otherwise,
// so a caller may call update for every record.
func (p *progress) update(line func() string) {
	if p == nil {
		return
	}
	now := p.now()
	if now.Before(p.next) {
		return
	}
	p.next = now.Add(progressEvery)
	_, _ = io.WriteString(p.w, line()+"\n")
}
