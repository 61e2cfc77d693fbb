// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"context"
	"fmt"

	"github.com/comet-otel/comet/internal/log"
)

func runVerify(ctx context.Context, args []string, out *output) error {
	fs := newFlags(out, "cometctl verify DIR [--quiet]", `
Reads every file of the data directory DIR and checks every record (its
header, its CRC-32C, and that a compressed payload decodes), each sealed
segment's index against the segment (as a collector's start does, and
every index point), and every consumer offset file. Prints one line per
problem: FILE: offset N (entry E): what is wrong. "damage" lines are
damaged data; "notice" lines are states the engine handles by design (a
missing index is rebuilt, a leftover temporary file removed). Ends with a
summary line. Exit status 0: no damage; 1: damage found; 2: the check
could not run. Reads only: it takes no lock and changes nothing.`)
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	pos, err := parseArgs(fs, args, "DIR")
	if err != nil {
		return err
	}
	dir, err := dataDir(pos[0])
	if err != nil {
		return err
	}
	prog := newProgress(out.stderr, *quiet)
	sum, err := log.VerifyDirectory(ctx, dir, log.VerifyOptions{
		Report: func(f log.Finding) {
			kind := "notice"
			if f.Damage {
				kind = "damage"
			}
			fmt.Fprintf(out.stdout, "%s: %s\n", kind, f)
		},
		Progress: func(done, total int64) {
			prog.update(func() string {
				return fmt.Sprintf("verify: %s of %s checked (%.0f%%)", humanBytes(done), humanBytes(total), 100*float64(done)/float64(max(total, 1)))
			})
		},
	})
	if err != nil {
		return err
	}
	checked := fmt.Sprintf("%d shards, %d segments (%s, %d records), %d indexes, %d offset files",
		sum.Shards, sum.Segments, humanBytes(sum.SegmentBytes), sum.Records, sum.Indexes, sum.OffsetFiles)
	notices := ""
	if sum.Notices > 0 {
		notices = fmt.Sprintf(", %d notices", sum.Notices)
	}
	if sum.Damage == 0 {
		fmt.Fprintf(out.stdout, "verify: OK: no damage in %s%s\n", checked, notices)
		return nil
	}
	fmt.Fprintf(out.stdout, "verify: DAMAGED: %d damaged places (%d damaged records) in %s%s\n", sum.Damage, sum.DamagedRecords, checked, notices)
	return errDamage
}
