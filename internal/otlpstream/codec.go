// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package otlpstream // import "github.com/comet-otel/comet/internal/otlpstream"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/comet-otel/comet/internal/log"
)

// Version is the version part of every stream name; see the package doc.
const Version = "v1"

// Codec is the stream contract of one signal whose requests are of type T
// (ptrace.Traces, pmetric.Metrics, plog.Logs, pprofile.Profiles).
type Codec[T any] struct {
	// Signal names the signal; its String() is the stream namespace.
	Signal pipeline.Signal
	// Item and Items name the signal's smallest unit, for messages:
	// "span", "spans".
	Item, Items string

	// New returns an empty request.
	New func() T
	// Marshal encodes a request as OTLP protobuf; Size is the length of
	// that encoding, computed without encoding.
	Marshal func(T) ([]byte, error)
	Size    func(T) int
	// MarshalMutates is set when Marshal rewrites a request that is not
	// read-only (pprofile's moves strings into the dictionary): a caller
	// that must not modify its input marks it read-only or copies it.
	MarshalMutates bool
	// Unmarshal decodes a record's payload.
	Unmarshal func([]byte) (T, error)
	// MarshalJSON and UnmarshalJSON convert a request from and to OTLP
	// JSON, one request per line as the collector's file exporter writes.
	MarshalJSON   func(T) ([]byte, error)
	UnmarshalJSON func([]byte) (T, error)
	// Count counts a request's items (spans, data points, log records,
	// profile samples), as the collector's telemetry counts them.
	Count func(T) int

	// Halve returns two new requests that together hold d's content, split
	// at the outermost level with more than one element (resources, then
	// scopes, then items); ok is false when d holds a single item. d is
	// not modified.
	Halve func(d T) (a, b T, ok bool)
	// MoveAppend moves src's content to the end of dst, leaving src empty
	// (or read-only). Order is kept; a resource (and scope) equal to dst's
	// last one is merged into it rather than repeated.
	MoveAppend func(dst, src T) error

	// Resources, Resource and CopyResource let a caller regroup a request
	// by resource: the number of resources, the i-th one, and a copy of
	// the i-th resource's content appended to dst, where dst was created
	// by NewPart(src).
	Resources    func(T) int
	Resource     func(d T, i int) pcommon.Resource
	NewPart      func(src T) T
	CopyResource func(src T, i int, dst T)
}

// Namespace is the stream namespace of the signal.
func (c *Codec[T]) Namespace() string { return c.Signal.String() }

// StreamName is the stream of one shard of the signal.
func (c *Codec[T]) StreamName(shard uint32) string {
	return log.ShardStreamName(c.Namespace(), Version, shard)
}

// StreamPattern matches every shard of the signal, for a log.Consumer.
func (c *Codec[T]) StreamPattern() string { return c.Namespace() + ":" + Version + ":shard:*" }
