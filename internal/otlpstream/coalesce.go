// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package otlpstream // import "github.com/comet-otel/comet/internal/otlpstream"

import "go.opentelemetry.io/collector/pdata/pcommon"

// groupSlice is the part of a pdata slice of resource or scope groups that
// coalescing needs.
type groupSlice[E any] interface {
	Len() int
	At(i int) E
	AppendEmpty() E
	RemoveIf(func(E) bool)
}

// coalesce moves every group of src to the end of dst, in order. A group
// equal to dst's last one (as same says) is merged into it by merge
// instead of being appended: consecutive small requests of one source
// become one resource and one scope, so the request downstream carries
// each resource once. Only the last group is compared, so the cost is one
// comparison per group and order is kept. src is left empty.
func coalesce[E interface{ MoveTo(E) }, S groupSlice[E]](dst, src S, same func(a, b E) bool, merge func(into, from E)) {
	for i := range src.Len() {
		g := src.At(i)
		if n := dst.Len(); n > 0 && same(dst.At(n-1), g) {
			merge(dst.At(n-1), g)
			continue
		}
		g.MoveTo(dst.AppendEmpty())
	}
	src.RemoveIf(func(E) bool { return true })
}

// sameResource reports whether two resources are equal, schema URLs of
// their groups included.
func sameResource(a, b pcommon.Resource, aSchema, bSchema string) bool {
	return aSchema == bSchema && a.DroppedAttributesCount() == b.DroppedAttributesCount() && a.Attributes().Equal(b.Attributes())
}

// sameScope reports whether two instrumentation scopes are equal, schema
// URLs of their groups included.
func sameScope(a, b pcommon.InstrumentationScope, aSchema, bSchema string) bool {
	return aSchema == bSchema && a.Name() == b.Name() && a.Version() == b.Version() &&
		a.DroppedAttributesCount() == b.DroppedAttributesCount() && a.Attributes().Equal(b.Attributes())
}
