// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Command cometctl is the operator's tool for a comet data directory: it
// inspects what is buffered, verifies every checksum, exports records as
// OTLP (JSON lines or length-delimited protobuf), imports them back, and
// lists, resets or deletes consumer groups. It works whether or not a
// collector is running on the directory: inspect, verify, export and
// groups list only read, and never take the writer's lock.
package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses.
const (
	exitOK = 0
	// exitDamage: the command ran, and found damage (verify) or could not
	// read some records, which it skipped (export).
	exitDamage = 1
	// exitError: bad usage, or the command could not do its work (a
	// missing or foreign directory, a held lock, an I/O error, bad input).
	exitError = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runContext(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs cometctl with the given arguments (without the program name)
// and returns its exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

// command is one subcommand: it parses its own flags from args.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, out *output) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"inspect": {"show streams, shards, segments, disk use and consumer groups", runInspect},
		"verify":  {"check every record, index and offset file; exit 1 if anything is damaged", runVerify},
		"export":  {"write records as OTLP JSON lines or length-delimited OTLP protobuf", runExport},
		"import":  {"append OTLP JSON lines or length-delimited protobuf to a directory", runImport},
		"groups":  {"list consumer groups, or reset or delete one", runGroups},
	}
}

var commandOrder = []string{"inspect", "verify", "export", "import", "groups"}

func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	out := &output{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		printUsage(stderr)
		return exitError
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "-help" || name == "--help" {
		if len(args) > 1 {
			if _, ok := commands[args[1]]; ok {
				return runContext(ctx, []string{args[1], "-h"}, stdout, stderr)
			}
		}
		printUsage(stdout)
		return exitOK
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "cometctl: unknown command %q\n\n", name)
		printUsage(stderr)
		return exitError
	}
	out.cmd = name
	err := cmd.run(ctx, args[1:], out)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errDamage):
		return exitDamage
	case errors.Is(err, errUsage):
		// The flag set or the command has printed what is wrong.
		return exitError
	}
	fmt.Fprintf(stderr, "cometctl %s: %v\n", name, err)
	return exitError
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `cometctl: inspect, verify, export and import the data directory of comet components

Usage:
  cometctl <command> [arguments]

Commands:
`)
	for _, name := range commandOrder {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands[name].summary)
	}
	fmt.Fprint(w, `
Run "cometctl <command> -h" for a command's arguments and flags.

Exit status: 0 success; 1 damage found (verify) or damaged records skipped
(export); 2 bad usage or failure (missing or foreign directory, lock held
by a collector, I/O error, invalid input).
`)
}

var (
	// errDamage makes the exit status exitDamage; the command has already
	// said what was damaged.
	errDamage = errors.New("damage found")
	// errUsage makes the exit status exitError; the usage error is printed.
	errUsage = errors.New("usage")
	// errHelp: -h was asked for and printed.
	errHelp = errors.New("help")
)

// output is where a command writes: data and reports to stdout,
// progress, warnings and summaries of data-producing commands to stderr.
type output struct {
	cmd    string
	stdout io.Writer
	stderr io.Writer
}

// warnf writes a warning line to stderr.
func (o *output) warnf(format string, args ...any) {
	fmt.Fprintf(o.stderr, "cometctl %s: "+format+"\n", append([]any{o.cmd}, args...)...)
}
