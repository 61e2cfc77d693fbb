// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/comet-otel/comet/internal/log"
)

// StartAt is where a consumer group that has never read a shard starts:
// StartAtEarliest, StartAtLatest, an RFC 3339 time ("2026-12-01T08:00:00Z")
// or a negative duration back from when the receiver starts ("-2h").
type StartAt string

const (
	// StartAtEarliest starts at the oldest record still on disk.
	StartAtEarliest StartAt = "earliest"
	// StartAtLatest skips what was appended before the receiver started.
	StartAtLatest StartAt = "latest"
)

// startPosition is a resolved StartAt.
type startPosition struct {
	at   log.StartPosition
	time time.Time // for log.StartByTime
}

// resolve turns s into a start position, a duration counting back from
// now. The error explains every accepted form.
func (s StartAt) resolve(now time.Time) (startPosition, error) {
	switch s {
	case StartAtEarliest:
		return startPosition{at: log.StartEarliest}, nil
	case StartAtLatest:
		return startPosition{at: log.StartLatest}, nil
	}
	text := strings.TrimSpace(string(s))
	if t, err := time.Parse(time.RFC3339Nano, text); err == nil {
		return startPosition{at: log.StartByTime, time: t}, nil
	}
	d, err := time.ParseDuration(text)
	switch {
	case err != nil:
		return startPosition{}, fmt.Errorf("must be earliest, latest, an RFC 3339 time (2026-12-01T08:00:00Z) or a negative duration (-2h), got %q", s)
	case d >= 0:
		return startPosition{}, errors.New("a duration counts back from now and must be negative, such as -2h, got " + string(s))
	}
	return startPosition{at: log.StartByTime, time: now.Add(d)}, nil
}
