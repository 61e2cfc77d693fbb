// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package kafka

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"
)

// A profiles request keeps its strings, attributes, functions, mappings, locations, stacks
// and links in a dictionary its profiles and samples refer to by index. The indices are
// the request's own: merging requests (the comet receiver does) renumbers them. So the
// generator writes entries through a dictWriter, and a sample is compared through a
// dictCopier that rebuilds, in a dictionary of its own, only what the sample refers to.

// dictWriter adds entries to a profiles dictionary, each once, and returns their indices.
// Every table starts with its zero entry: OTLP reserves index 0 for "none".
type dictWriter struct {
	d   pprofile.ProfilesDictionary
	err error // first failure; later calls return 0
}

func newDictWriter(d pprofile.ProfilesDictionary) *dictWriter {
	d.StringTable().Append("")
	d.MappingTable().AppendEmpty()
	d.LocationTable().AppendEmpty()
	d.FunctionTable().AppendEmpty()
	d.LinkTable().AppendEmpty()
	d.AttributeTable().AppendEmpty()
	d.StackTable().AppendEmpty()
	return &dictWriter{d: d}
}

func (w *dictWriter) index(i int32, err error) int32 {
	if err != nil {
		w.fail(err)
		return 0
	}
	return i
}

func (w *dictWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *dictWriter) str(s string) int32 {
	return w.index(pprofile.SetString(w.d.StringTable(), s))
}

func (w *dictWriter) attribute(key string, v pcommon.Value, unit string) int32 {
	kv := pprofile.NewKeyValueAndUnit()
	kv.SetKeyStrindex(w.str(key))
	v.CopyTo(kv.Value())
	kv.SetUnitStrindex(w.str(unit))
	return w.index(pprofile.SetAttribute(w.d.AttributeTable(), kv))
}

// attributes adds every attribute of m, without a unit, in m's order.
func (w *dictWriter) attributes(m pcommon.Map) []int32 {
	var out []int32
	for k, v := range m.All() {
		out = append(out, w.attribute(k, v, ""))
	}
	return out
}

func (w *dictWriter) function(name, systemName, filename string, startLine int64) int32 {
	fn := pprofile.NewFunction()
	fn.SetNameStrindex(w.str(name))
	fn.SetSystemNameStrindex(w.str(systemName))
	fn.SetFilenameStrindex(w.str(filename))
	fn.SetStartLine(startLine)
	return w.index(pprofile.SetFunction(w.d.FunctionTable(), fn))
}

func (w *dictWriter) mapping(start, limit, offset uint64, filename string, attrs []int32) int32 {
	m := pprofile.NewMapping()
	m.SetMemoryStart(start)
	m.SetMemoryLimit(limit)
	m.SetFileOffset(offset)
	m.SetFilenameStrindex(w.str(filename))
	m.AttributeIndices().FromRaw(attrs)
	return w.index(pprofile.SetMapping(w.d.MappingTable(), m))
}

// profileLine is a Line: a function (its index) and a position in it.
type profileLine struct {
	function     int32
	line, column int64
}

func (w *dictWriter) location(mapping int32, address uint64, lines []profileLine, attrs []int32) int32 {
	loc := pprofile.NewLocation()
	loc.SetMappingIndex(mapping)
	loc.SetAddress(address)
	for _, l := range lines {
		ol := loc.Lines().AppendEmpty()
		ol.SetFunctionIndex(l.function)
		ol.SetLine(l.line)
		ol.SetColumn(l.column)
	}
	loc.AttributeIndices().FromRaw(attrs)
	return w.index(pprofile.SetLocation(w.d.LocationTable(), loc))
}

func (w *dictWriter) stack(locations []int32) int32 {
	st := pprofile.NewStack()
	st.LocationIndices().FromRaw(locations)
	return w.index(pprofile.SetStack(w.d.StackTable(), st))
}

func (w *dictWriter) link(trace pcommon.TraceID, span pcommon.SpanID) int32 {
	l := pprofile.NewLink()
	l.SetTraceID(trace)
	l.SetSpanID(span)
	return w.index(pprofile.SetLink(w.d.LinkTable(), l))
}

// dictCopier copies entries of the dictionary src, by index, into w, and returns their
// indices there. An index out of its table fails w.
type dictCopier struct {
	src pprofile.ProfilesDictionary
	w   *dictWriter
}

func (c dictCopier) valid(what string, i int32, n int) bool {
	if i < 0 || int(i) >= n {
		c.w.fail(fmt.Errorf("%s index %d out of the dictionary's %d entries", what, i, n))
		return false
	}
	return true
}

// s is the string at index i of src.
func (c dictCopier) s(i int32) string {
	if !c.valid("string", i, c.src.StringTable().Len()) {
		return ""
	}
	return c.src.StringTable().At(int(i))
}

func (c dictCopier) str(i int32) int32 { return c.w.str(c.s(i)) }

func (c dictCopier) attribute(i int32) int32 {
	if !c.valid("attribute", i, c.src.AttributeTable().Len()) {
		return 0
	}
	kv := c.src.AttributeTable().At(int(i))
	return c.w.attribute(c.s(kv.KeyStrindex()), kv.Value(), c.s(kv.UnitStrindex()))
}

func (c dictCopier) attributeList(indices pcommon.Int32Slice) []int32 {
	out := make([]int32, 0, indices.Len())
	for _, i := range indices.All() {
		out = append(out, c.attribute(i))
	}
	return out
}

// attributesInPlace renumbers indices, a slice of the copy, from src to w.
func (c dictCopier) attributesInPlace(indices pcommon.Int32Slice) {
	indices.FromRaw(c.attributeList(indices))
}

func (c dictCopier) valueType(vt pprofile.ValueType) {
	vt.SetTypeStrindex(c.str(vt.TypeStrindex()))
	vt.SetUnitStrindex(c.str(vt.UnitStrindex()))
}

func (c dictCopier) function(i int32) int32 {
	if !c.valid("function", i, c.src.FunctionTable().Len()) {
		return 0
	}
	fn := c.src.FunctionTable().At(int(i))
	return c.w.function(c.s(fn.NameStrindex()), c.s(fn.SystemNameStrindex()), c.s(fn.FilenameStrindex()), fn.StartLine())
}

func (c dictCopier) mapping(i int32) int32 {
	if !c.valid("mapping", i, c.src.MappingTable().Len()) {
		return 0
	}
	m := c.src.MappingTable().At(int(i))
	return c.w.mapping(m.MemoryStart(), m.MemoryLimit(), m.FileOffset(), c.s(m.FilenameStrindex()), c.attributeList(m.AttributeIndices()))
}

func (c dictCopier) location(i int32) int32 {
	if !c.valid("location", i, c.src.LocationTable().Len()) {
		return 0
	}
	loc := c.src.LocationTable().At(int(i))
	var lines []profileLine
	for _, l := range loc.Lines().All() {
		lines = append(lines, profileLine{function: c.function(l.FunctionIndex()), line: l.Line(), column: l.Column()})
	}
	mapping := c.mapping(loc.MappingIndex())
	return c.w.location(mapping, loc.Address(), lines, c.attributeList(loc.AttributeIndices()))
}

func (c dictCopier) stack(i int32) int32 {
	if !c.valid("stack", i, c.src.StackTable().Len()) {
		return 0
	}
	var locations []int32
	for _, l := range c.src.StackTable().At(int(i)).LocationIndices().All() {
		locations = append(locations, c.location(l))
	}
	return c.w.stack(locations)
}

func (c dictCopier) link(i int32) int32 {
	if !c.valid("link", i, c.src.LinkTable().Len()) {
		return 0
	}
	l := c.src.LinkTable().At(int(i))
	return c.w.link(l.TraceID(), l.SpanID())
}

// profileInPlace renumbers p, a copy of a profile of src, from src to w: its attributes,
// value types and samples, with everything they refer to.
func (c dictCopier) profileInPlace(p pprofile.Profile) {
	c.attributesInPlace(p.AttributeIndices())
	c.valueType(p.SampleType())
	c.valueType(p.PeriodType())
	for _, s := range p.Samples().All() {
		c.attributesInPlace(s.AttributeIndices())
		s.SetLinkIndex(c.link(s.LinkIndex()))
		s.SetStackIndex(c.stack(s.StackIndex()))
	}
}
