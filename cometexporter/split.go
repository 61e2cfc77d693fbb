// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter // import "github.com/comet-otel/comet/cometexporter"

import (
	"fmt"

	"github.com/comet-otel/comet/internal/otlpstream"
)

// recordTooLargeError is a single span, data point, log record or profile
// sample whose encoding alone exceeds max_record_size: it can never be
// stored.
type recordTooLargeError struct {
	item      string
	size, max int
}

func (e *recordTooLargeError) Error() string {
	return fmt.Sprintf("a single %s encodes to %d bytes, more than max_record_size (%d); it cannot be split further", e.item, e.size, e.max)
}

// encode appends to out the records of d: one record when its encoding
// fits maxSize, otherwise the records of its halves, recursively. Only an
// oversized request pays for sizing and copying.
func encode[T any](c *otlpstream.Codec[T], d T, maxSize int, out [][]byte) ([][]byte, error) {
	b, err := c.Marshal(d)
	if err != nil {
		return out, err
	}
	if len(b) <= maxSize {
		return append(out, b), nil
	}
	return encodeSplit(c, d, len(b), maxSize, out)
}

func encodeSplit[T any](c *otlpstream.Codec[T], d T, size, maxSize int, out [][]byte) ([][]byte, error) {
	a, b, ok := c.Halve(d)
	if !ok {
		return out, &recordTooLargeError{item: c.Item, size: size, max: maxSize}
	}
	for _, half := range []T{a, b} {
		var err error
		if n := c.Size(half); n > maxSize {
			out, err = encodeSplit(c, half, n, maxSize, out)
		} else {
			out, err = encode(c, half, maxSize, out)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
