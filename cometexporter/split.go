// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter // import "github.com/comet-otel/comet/cometexporter"

import (
	"fmt"
)

// codec encodes one signal's data as OTLP protobuf and halves data that is
// too large for one record.
type codec[T any] struct {
	// item names what cannot be split further, for error messages.
	item    string
	marshal func(T) ([]byte, error)
	size    func(T) int
	// halve returns two copies of d that together hold its content, split
	// at the outermost level with more than one element (resources, then
	// scopes, then records); ok is false for a single record.
	halve func(d T) (a, b T, ok bool)
}

// recordTooLargeError is a single span, data point or log record whose
// encoding alone exceeds max_record_size: it can never be stored.
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
func encode[T any](c *codec[T], d T, maxSize int, out [][]byte) ([][]byte, error) {
	b, err := c.marshal(d)
	if err != nil {
		return out, err
	}
	if len(b) <= maxSize {
		return append(out, b), nil
	}
	return encodeSplit(c, d, len(b), maxSize, out)
}

func encodeSplit[T any](c *codec[T], d T, size, maxSize int, out [][]byte) ([][]byte, error) {
	a, b, ok := c.halve(d)
	if !ok {
		return out, &recordTooLargeError{item: c.item, size: size, max: maxSize}
	}
	for _, half := range []T{a, b} {
		var err error
		if n := c.size(half); n > maxSize {
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

// removeIfSlice is a pdata slice.
type removeIfSlice[E any] interface {
	Len() int
	RemoveIf(func(E) bool)
}

// keepFirst keeps the first n elements of s (keep == true) or all but
// them (keep == false).
func keepFirst[E any, S removeIfSlice[E]](s S, n int, keep bool) {
	i := 0
	s.RemoveIf(func(E) bool {
		first := i < n
		i++
		return first != keep
	})
}

// halveSlice splits the slice reached by at in two copies, a and b: a keeps
// the first half, b the rest.
func halveSlice[T any, E any, S removeIfSlice[E]](d T, clone func(T) T, at func(T) S) (T, T) {
	a, b := clone(d), clone(d)
	n := at(d).Len() / 2
	keepFirst[E](at(a), n, true)
	keepFirst[E](at(b), n, false)
	return a, b
}
