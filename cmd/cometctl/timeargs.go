// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"fmt"
	"strings"
	"time"
)

// parseTime reads a time argument: an RFC 3339 time
// (2024-05-01T10:00:00Z, fractions and offsets allowed), a duration back
// from now (-2h, -90m, -1h30m), or "now".
func parseTime(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "-"):
		d, err := time.ParseDuration(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not a duration such as -2h or -90m: %w", s, err)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t, nil
	}
	if _, derr := time.ParseDuration(s); derr == nil {
		return time.Time{}, fmt.Errorf("%q: a duration counts back from now and takes a minus sign: -%s", s, s)
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time (2024-05-01T10:00:00Z), a duration back from now (-2h) or now", s)
}
