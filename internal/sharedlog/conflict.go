// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package sharedlog // import "github.com/comet-otel/comet/internal/sharedlog"

import (
	"fmt"
	"strings"

	"github.com/comet-otel/comet/internal/log"
)

// ConflictError reports a writer whose engine settings differ from those
// the directory was opened with by another writer of the same process.
type ConflictError struct {
	Directory string
	Owner     string // the component that opened the directory first
	Settings  []SettingDiff
}

// SettingDiff is one engine setting two writers disagree on. Field is the
// log.CometConfig field path, such as "Durability.Mode".
type SettingDiff struct {
	Field        string
	Open, Wanted string // the value in use and the value asked for
}

func (e *ConflictError) Error() string {
	parts := make([]string, len(e.Settings))
	for i, d := range e.Settings {
		parts[i] = fmt.Sprintf("%s is %s, not %s", d.Field, d.Open, d.Wanted)
	}
	return fmt.Sprintf("comet directory %q is already open by %s with different settings: %s; components sharing a directory must configure it identically",
		e.Directory, e.Owner, strings.Join(parts, "; "))
}

// comparedSettings are the engine settings writers of one directory must
// share. The logger is not one of them: the first writer's is used.
var comparedSettings = []struct {
	field string
	value func(*log.CometConfig) any
}{
	{"Compression.Codec", func(c *log.CometConfig) any { return c.Compression.Codec }},
	{"Compression.MinCompressSize", func(c *log.CometConfig) any { return c.Compression.MinCompressSize }},
	{"Compression.BacklogThreshold", func(c *log.CometConfig) any { return c.Compression.BacklogThreshold }},
	{"Indexing.BoundaryInterval", func(c *log.CometConfig) any { return c.Indexing.BoundaryInterval }},
	{"Indexing.MaxIndexEntries", func(c *log.CometConfig) any { return c.Indexing.MaxIndexEntries }},
	{"Storage.MaxFileSize", func(c *log.CometConfig) any { return c.Storage.MaxFileSize }},
	{"Storage.CheckpointTime", func(c *log.CometConfig) any { return c.Storage.CheckpointTime }},
	{"Storage.MaxEntrySize", func(c *log.CometConfig) any { return c.Storage.MaxEntrySize }},
	{"Storage.DirMode", func(c *log.CometConfig) any { return c.Storage.DirMode }},
	{"Storage.FileMode", func(c *log.CometConfig) any { return c.Storage.FileMode }},
	{"Concurrency.EnableMultiProcessMode", func(c *log.CometConfig) any { return c.Concurrency.EnableMultiProcessMode }},
	{"Concurrency.ProcessSlots", func(c *log.CometConfig) any { return c.Concurrency.ProcessSlots }},
	{"Retention.MaxAge", func(c *log.CometConfig) any { return c.Retention.MaxAge }},
	{"Retention.MaxTotalSize", func(c *log.CometConfig) any { return c.Retention.MaxTotalSize }},
	{"Retention.MaxShardSize", func(c *log.CometConfig) any { return c.Retention.MaxShardSize }},
	{"Retention.CleanupInterval", func(c *log.CometConfig) any { return c.Retention.CleanupInterval }},
	{"Retention.MinFilesToKeep", func(c *log.CometConfig) any { return c.Retention.MinFilesToKeep }},
	{"Retention.ProtectUnconsumed", func(c *log.CometConfig) any { return c.Retention.ProtectUnconsumed }},
	{"Retention.ForceDeleteAfter", func(c *log.CometConfig) any { return c.Retention.ForceDeleteAfter }},
	{"Retention.WhenFull", func(c *log.CometConfig) any { return c.Retention.WhenFull }},
	{"Retention.DeleteConsumed", func(c *log.CometConfig) any { return c.Retention.DeleteConsumed }},
	{"Durability.Mode", func(c *log.CometConfig) any { return c.Durability.Mode }},
	{"Durability.Interval", func(c *log.CometConfig) any { return c.Durability.Interval }},
	{"Durability.MaxPendingEntries", func(c *log.CometConfig) any { return c.Durability.MaxPendingEntries }},
}

// diffConfig lists the compared settings on which open and wanted differ.
func diffConfig(open, wanted log.CometConfig) []SettingDiff {
	var diffs []SettingDiff
	for _, s := range comparedSettings {
		a, b := s.value(&open), s.value(&wanted)
		if a != b {
			diffs = append(diffs, SettingDiff{Field: s.field, Open: fmt.Sprint(a), Wanted: fmt.Sprint(b)})
		}
	}
	return diffs
}
