// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/comet-otel/comet/internal/log"
)

// selection is what --stream names: every shard of a namespace, or one
// shard.
type selection struct {
	ns, ver string
	shard   *uint32 // nil: every shard
}

// namePart is a namespace or version as the engine accepts it.
var namePart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// parseSelection reads --stream: a namespace ("logs", every shard of
// logs:v1), a pattern ("logs:v1:shard:*") or a stream ("logs:v1:shard:0003").
func parseSelection(s string) (selection, error) {
	if !strings.Contains(s, ":") {
		if !namePart.MatchString(s) {
			return selection{}, fmt.Errorf("--stream %q: want a signal (%s), a pattern such as logs:v1:shard:* or a stream such as logs:v1:shard:0003", s, strings.Join(signalNames(), ", "))
		}
		return selection{ns: s, ver: recordVersion}, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) != 4 || parts[2] != "shard" || !namePart.MatchString(parts[0]) || !namePart.MatchString(parts[1]) {
		return selection{}, fmt.Errorf("--stream %q: want namespace:version:shard:NNNN or namespace:version:shard:*", s)
	}
	sel := selection{ns: parts[0], ver: parts[1]}
	if parts[3] == "*" {
		return sel, nil
	}
	id, err := strconv.ParseUint(parts[3], 10, 32)
	if err != nil {
		return selection{}, fmt.Errorf("--stream %q: shard %q is not a number", s, parts[3])
	}
	shard := uint32(id)
	sel.shard = &shard
	return sel, nil
}

// pattern is the engine's name for the selection: "ns:ver:shard:*" or one
// stream.
func (sel selection) pattern() string {
	if sel.shard != nil {
		return log.ShardStreamName(sel.ns, sel.ver, *sel.shard)
	}
	return sel.ns + ":" + sel.ver + ":shard:*"
}

// label names the namespace for messages: "logs:v1".
func (sel selection) label() string { return sel.ns + ":" + sel.ver }

// pick returns the streams of names the selection covers, in order.
func (sel selection) pick(names []string) []string {
	var out []string
	for _, name := range names {
		if sel.covers(name) {
			out = append(out, name)
		}
	}
	return out
}

// covers reports whether the canonical stream name is selected.
func (sel selection) covers(name string) bool {
	ns, ver, shard, ok := splitStream(name)
	return ok && ns == sel.ns && ver == sel.ver && (sel.shard == nil || *sel.shard == shard)
}

// splitStream reads a canonical stream name "ns:ver:shard:NNNN".
func splitStream(name string) (ns, ver string, shard uint32, ok bool) {
	parts := strings.Split(name, ":")
	if len(parts) != 4 {
		return "", "", 0, false
	}
	id, err := strconv.ParseUint(parts[3], 10, 32)
	return parts[0], parts[1], uint32(id), err == nil
}

// namespaces returns the distinct "ns:ver" of stream names, in order, as
// selections of every shard.
func namespaces(names []string) []selection {
	var out []selection
	seen := map[string]bool{}
	for _, name := range names {
		ns, ver, _, ok := splitStream(name)
		if !ok || seen[ns+":"+ver] {
			continue
		}
		seen[ns+":"+ver] = true
		out = append(out, selection{ns: ns, ver: ver})
	}
	return out
}
