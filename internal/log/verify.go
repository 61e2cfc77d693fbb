// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// This file checks a data directory without a Client and without writing:
// every record of every segment (header, checksum, and that a compressed
// payload decodes), each segment's index against the segment, and every
// consumer offset file. The open path of a Client trusts a valid index
// and does not read sealed segments; VerifyDirectory reads everything.

// Finding is one problem VerifyDirectory found in a file.
type Finding struct {
	File   string
	Offset int64 // byte offset in File of the problem; -1: the file as a whole
	Entry  int64 // entry number concerned; -1: none
	// Damage is true for damaged data or metadata. False marks a notice:
	// a state the engine handles by design (a sealed segment without its
	// index is scanned and indexed at the next open, a leftover temporary
	// file is removed, an offset past a recovered end is clamped).
	Damage bool
	Reason string
}

// String formats the finding as "FILE: offset N (entry E): reason".
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.File)
	b.WriteString(":")
	if f.Offset >= 0 {
		fmt.Fprintf(&b, " offset %d", f.Offset)
	}
	if f.Entry >= 0 {
		fmt.Fprintf(&b, " (entry %d)", f.Entry)
	}
	if f.Offset >= 0 || f.Entry >= 0 {
		b.WriteString(":")
	}
	b.WriteString(" ")
	b.WriteString(f.Reason)
	return b.String()
}

// VerifySummary counts what VerifyDirectory checked and found.
type VerifySummary struct {
	Shards         int64
	Segments       int64
	SegmentBytes   int64
	Records        int64 // records walked, damaged ones included
	DamagedRecords int64
	Indexes        int64
	OffsetFiles    int64
	Damage         int64 // findings that are damage
	Notices        int64 // findings that are notices
}

// VerifyOptions receives VerifyDirectory's results as it goes.
type VerifyOptions struct {
	// Report is called with each finding, in directory order.
	Report func(Finding)
	// Progress, when set, is called after each segment with the bytes of
	// segment files checked so far and their total.
	Progress func(done, total int64)
}

// VerifyDirectory checks every file of the data directory dir and reports
// what it finds through opts.Report. It opens files for reading only and
// takes no lock, so it may run beside a writer: then an incomplete record
// at the end of an active segment is a notice, not damage, when the
// writer's lock is known to be held (see InspectLock). The error is for a
// directory that cannot be listed; damaged or unreadable files are
// findings. Cost: one sequential read of every file.
func VerifyDirectory(ctx context.Context, dir string, opts VerifyOptions) (VerifySummary, error) {
	v := &verifier{ctx: ctx, opts: opts}
	info, err := os.Stat(dir)
	if err != nil {
		return v.sum, err
	}
	if !info.IsDir() {
		return v.sum, fmt.Errorf("%s is not a directory", dir)
	}
	if lock, err := InspectLock(dir); err == nil {
		v.writer = lock.Held
	}
	shards, err := shardDirsOnDisk(dir)
	if err != nil {
		return v.sum, err
	}
	for _, k := range shards {
		v.total += segmentBytesIn(filepath.Join(dir, k.dir()))
	}
	for _, k := range shards {
		if err := ctx.Err(); err != nil {
			return v.sum, err
		}
		v.verifyShard(filepath.Join(dir, k.dir()))
	}
	return v.sum, ctx.Err()
}

// verifier carries one VerifyDirectory run.
type verifier struct {
	ctx    context.Context
	opts   VerifyOptions
	writer LockHeld
	sum    VerifySummary
	done   int64 // segment bytes checked
	total  int64
}

func (v *verifier) report(f Finding) {
	if f.Damage {
		v.sum.Damage++
	} else {
		v.sum.Notices++
	}
	if v.opts.Report != nil {
		v.opts.Report(f)
	}
}

func (v *verifier) damage(file string, offset, entry int64, format string, args ...any) {
	v.report(Finding{File: file, Offset: offset, Entry: entry, Damage: true, Reason: fmt.Sprintf(format, args...)})
}

func (v *verifier) notice(file string, offset, entry int64, format string, args ...any) {
	v.report(Finding{File: file, Offset: offset, Entry: entry, Reason: fmt.Sprintf(format, args...)})
}

// shardDirsOnDisk lists the shard directories of dir, sorted by stream
// name. Names that are not valid namespaces, versions or shard
// directories are not the engine's and are left alone.
func shardDirsOnDisk(dir string) ([]streamKey, error) {
	nsNames, err := readDirNames(dir)
	if err != nil {
		return nil, err
	}
	var keys []streamKey
	for _, ns := range nsNames {
		if validateNamePart(ns) != nil {
			continue
		}
		verNames, err := readDirNames(filepath.Join(dir, ns))
		if err != nil {
			return nil, err
		}
		for _, ver := range verNames {
			if validateNamePart(ver) != nil {
				continue
			}
			shardNames, err := readDirNames(filepath.Join(dir, ns, ver))
			if err != nil {
				return nil, err
			}
			for _, name := range shardNames {
				if id, ok := parseShardDir(name); ok {
					keys = append(keys, streamKey{ns: ns, ver: ver, shard: id})
				}
			}
		}
	}
	slices.SortFunc(keys, func(a, b streamKey) int { return strings.Compare(a.name(), b.name()) })
	return keys, nil
}

// segmentBytesIn sums the sizes of the segment files of a shard directory.
func segmentBytesIn(dir string) int64 {
	entries, _ := os.ReadDir(dir)
	var total int64
	for _, e := range entries {
		if _, ok := parseSegmentFileName(e.Name()); ok {
			if info, err := e.Info(); err == nil {
				total += info.Size()
			}
		}
	}
	return total
}

// shardFiles is what a shard directory holds.
type shardFiles struct {
	segments []int64        // bases, ascending
	indexes  map[int64]bool // bases with an index file
	orphans  []string       // index files without their segment
	leftover []string       // temporary files
}

func listShardFiles(dir string) (shardFiles, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return shardFiles{}, err
	}
	files := shardFiles{indexes: map[int64]bool{}}
	var indexBases []int64
	for _, e := range entries {
		name := e.Name()
		if base, ok := parseSegmentFileName(name); ok && e.Type().IsRegular() {
			files.segments = append(files.segments, base)
		} else if base, ok := parseIndexFileName(name); ok {
			indexBases = append(indexBases, base)
		} else if strings.HasSuffix(name, tempSuffix) {
			files.leftover = append(files.leftover, name)
		}
	}
	slices.Sort(files.segments)
	for _, base := range indexBases {
		if _, found := slices.BinarySearch(files.segments, base); found {
			files.indexes[base] = true
		} else {
			files.orphans = append(files.orphans, indexFileName(base))
		}
	}
	return files, nil
}

// verifyShard checks a shard's segments, their continuity, its indexes
// and its offset files.
func (v *verifier) verifyShard(dir string) {
	v.sum.Shards++
	files, err := listShardFiles(dir)
	if err != nil {
		v.damage(dir, -1, -1, "cannot list the shard directory: %v", err)
		return
	}
	for _, name := range files.leftover {
		v.notice(filepath.Join(dir, name), -1, -1, "leftover temporary file of a replacement that did not finish (or is under way); a writer removes it at its next open")
	}
	for _, name := range files.orphans {
		v.notice(filepath.Join(dir, name), -1, -1, "index file without its segment (the segment was deleted); a writer removes it at its next open")
	}
	if len(files.segments) == 0 {
		v.notice(dir, -1, -1, "shard directory without segment files: readers ignore it until a writer appends")
	}
	end := int64(0)
	for i, base := range files.segments {
		if v.ctx.Err() != nil {
			return
		}
		path := filepath.Join(dir, segmentFileName(base))
		if i > 0 {
			v.checkContinuity(filepath.Join(dir, segmentFileName(files.segments[i-1])), end, path, base)
		}
		last := i == len(files.segments)-1
		segEnd, ok := v.verifySegment(dir, base, last, files.indexes[base])
		if ok {
			end = segEnd
		}
	}
	v.verifyOffsetFiles(filepath.Join(dir, groupsDirName), end)
}

// checkContinuity compares the end of one segment with the base of the
// next: entries missing between them are a notice (retention of the
// key-value store deletes segments from the middle; otherwise a lost
// file), entries claimed twice are damage.
func (v *verifier) checkContinuity(prevPath string, prevEnd int64, path string, base int64) {
	switch {
	case prevEnd < base:
		v.notice(path, -1, prevEnd, "entries %d to %d are not on disk: the segment(s) holding them were deleted or lost", prevEnd, base-1)
	case prevEnd > base:
		v.damage(prevPath, -1, base, "the segment holds entries up to %d, but %s starts at entry %d: readers ignore its entries from %d on", prevEnd-1, filepath.Base(path), base, base)
	}
}
