// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package otlpstream // import "github.com/comet-otel/comet/internal/otlpstream"

// pdataSlice is the part of a pdata slice's API that halving needs.
type pdataSlice[E any] interface {
	Len() int
	RemoveIf(func(E) bool)
}

// halveAt splits the slice that at reaches in d: a keeps its first half,
// b the rest, each a clone of d otherwise.
func halveAt[T any, E any, S pdataSlice[E]](d T, clone func(T) T, at func(T) S) (a, b T) {
	a, b = clone(d), clone(d)
	n := at(d).Len() / 2
	keepFirst[E](at(a), n, true)
	keepFirst[E](at(b), n, false)
	return a, b
}

// keepFirst keeps the first n elements of s (keep) or all but them.
func keepFirst[E any, S pdataSlice[E]](s S, n int, keep bool) {
	i := 0
	s.RemoveIf(func(E) bool {
		first := i < n
		i++
		return first != keep
	})
}

// level is one nesting level of a request a halving can split: its length
// in d and the split itself.
type level[T any] struct {
	len   func(T) int
	split func(T) (T, T)
}

// halveLevels splits d at the first level with more than one element,
// walking down only while each level has exactly one.
func halveLevels[T any](d T, levels ...level[T]) (T, T, bool) {
	for _, l := range levels {
		switch n := l.len(d); {
		case n > 1:
			a, b := l.split(d)
			return a, b, true
		case n == 0:
			return d, d, false
		}
	}
	return d, d, false
}

// levelOf builds the level of the slice that at reaches.
func levelOf[T any, E any, S pdataSlice[E]](clone func(T) T, at func(T) S) level[T] {
	return level[T]{
		len:   func(d T) int { return at(d).Len() },
		split: func(d T) (T, T) { return halveAt[T, E](d, clone, at) },
	}
}
