// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/comet-otel/comet/internal/otlpstream"
)

// recordVersion is the only stream version cometctl reads and writes:
// each record is one OTLP Export*ServiceRequest in protobuf, as the comet
// exporter writes it.
const recordVersion = otlpstream.Version

// signals converts the records of each signal's namespace between the
// stored protobuf and OTLP JSON, through the stream contract the comet
// exporter and receiver share.
var signals = otlpstream.Converters()

// emptyError refuses an empty request: the exporter never stores one, and
// a request of another signal reads as an empty one in JSON.
func emptyError(sig *otlpstream.Converter) error {
	return fmt.Errorf("the request is empty (no resource %s): is this a file of another signal? --stream names the signal", sig.Namespace)
}

// signalOf returns the signal of a namespace and version, or an error
// saying which ones cometctl converts.
func signalOf(sel selection) (*otlpstream.Converter, error) {
	sig, ok := signals[sel.ns]
	if !ok {
		return nil, fmt.Errorf("namespace %q is not an OTLP signal: cometctl converts %s", sel.ns, strings.Join(signalNames(), ", "))
	}
	if sel.ver != recordVersion {
		return nil, fmt.Errorf("version %q of %s: cometctl reads and writes %s (OTLP protobuf records)", sel.ver, sel.ns, recordVersion)
	}
	return sig, nil
}

// signalFlag reads --stream of a command that converts records (export,
// import): required, and naming a signal's streams.
func signalFlag(fs *flag.FlagSet, stream string) (selection, *otlpstream.Converter, error) {
	if stream == "" {
		return selection{}, nil, usageErrorf(fs, "--stream is required")
	}
	sel, err := parseSelection(stream)
	if err != nil {
		return selection{}, nil, usageErrorf(fs, "%v", err)
	}
	sig, err := signalOf(sel)
	if err != nil {
		return selection{}, nil, usageErrorf(fs, "%v", err)
	}
	return sel, sig, nil
}

func signalNames() []string {
	names := make([]string, 0, len(signals))
	for n := range signals {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
