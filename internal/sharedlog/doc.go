// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package sharedlog lets several collector components in one process use
// one engine client per data directory.
//
// The engine allows one writer per directory (it takes comet.lock), so two
// exporters, or an exporter and a receiver, that name the same directory
// must share a Client. A Registry hands out Handles: the first Open of a
// directory opens the Client, later ones reuse it, and the last Release
// closes it. This follows the collector's sharedcomponent idea, keyed by
// directory instead of by config.
//
// Writers (exporters) open the directory writable and must agree on every
// engine setting; a writer whose settings differ gets a *ConflictError
// naming the directory and the settings. Readers (receivers) join whatever
// client is open, so a receiver beside an exporter consumes through the
// writable client and is woken by appends at once; a reader with no writer
// in its process opens the directory read-only, the writer being another
// process (such a client makes its consumers' acknowledgements durable
// itself, every second). Collectors start exporters before receivers and
// shut them down after, so the writer is in place first.
package sharedlog // import "github.com/comet-otel/comet/internal/sharedlog"
