// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package loadgen

import (
	"testing"
)

func TestPayload_ItemsCarryTheirSequenceNumbers(t *testing.T) {
	p := newPayload(40, 7)
	td := p.traces(100, 5)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	if spans.Len() != 5 {
		t.Fatalf("spans = %d, want 5", spans.Len())
	}
	seen := map[string]bool{}
	for i := range spans.Len() {
		sp := spans.At(i)
		seq, ok := SeqOf(sp.Attributes())
		if !ok || seq != uint64(100+i) {
			t.Fatalf("span %d: seq %d, %v", i, seq, ok)
		}
		id, _ := sp.Attributes().Get("testbed.request_id")
		if len(id.Str()) != 40 || seen[id.Str()] {
			t.Fatalf("span %d: filler %q not 40 fresh characters", i, id.Str())
		}
		seen[id.Str()] = true
	}
	if p.traceID(104) != p.traceID(111) || p.traceID(111) == p.traceID(112) {
		t.Errorf("trace IDs must group %d consecutive numbers", spansPerTrace)
	}

	ld := p.logs(3, 2)
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range lrs.Len() {
		if seq, ok := SeqOf(lrs.At(i).Attributes()); !ok || seq != uint64(3+i) {
			t.Fatalf("log %d: seq %d, %v", i, seq, ok)
		}
	}
}
