// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// newFlags returns a command's flag set; its usage shows the synopsis, a
// description and the flags.
func newFlags(out *output, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet("cometctl "+out.cmd, flag.ContinueOnError)
	fs.SetOutput(out.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\n%s\n", synopsis, strings.TrimSpace(description))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprint(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseArgs parses flags placed anywhere among args (cometctl export DIR
// --stream logs, or --stream logs DIR) and returns the positional
// arguments, which must be as many as names.
func parseArgs(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, errUsage // the flag package printed the problem and the usage
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	if len(positional) != len(names) {
		return nil, usageErrorf(fs, "want %d argument(s) (%s), got %d", len(names), strings.Join(names, " "), len(positional))
	}
	return positional, nil
}

// usageErrorf prints a usage problem and how to get help.
func usageErrorf(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "%s: %s\nRun '%s -h' for usage.\n", fs.Name(), fmt.Sprintf(format, args...), fs.Name())
	return errUsage
}

// byteSize is a flag holding a size in bytes, written as a number with an
// optional unit: 1048576, 512KiB, 8MiB, 1GiB, 1GB.
type byteSize int64

// String writes the size with the largest binary unit that divides it.
func (b *byteSize) String() string {
	v := int64(*b)
	for _, u := range []struct {
		suffix string
		factor int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v != 0 && v%u.factor == 0 {
			return strconv.FormatInt(v/u.factor, 10) + u.suffix
		}
	}
	return strconv.FormatInt(v, 10)
}

func (b *byteSize) Set(s string) error {
	v, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(v)
	return nil
}

var byteUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

func parseByteSize(s string) (int64, error) {
	num, factor := s, int64(1)
	for _, u := range byteUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, factor = strings.TrimSpace(n), u.factor
			break
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/factor {
		return 0, fmt.Errorf("%q is not a size in bytes (examples: 1048576, 512KiB, 8MiB, 1GiB)", s)
	}
	return v * factor, nil
}
