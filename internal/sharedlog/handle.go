// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package sharedlog // import "github.com/comet-otel/comet/internal/sharedlog"

import (
	"sync"

	"github.com/comet-otel/comet/internal/log"
)

// Handle is one component's reference to a shared client.
type Handle struct {
	reg  *Registry
	e    *entry
	once sync.Once
}

// Client returns the shared engine client. Do not Close it: Release the
// handle instead.
func (h *Handle) Client() *log.Client { return h.e.client }

// Writable reports whether the client can append (a writer of this process
// opened it) rather than being read-only.
func (h *Handle) Writable() bool { return h.e.writable }

// Directory returns the canonical directory the client serves.
func (h *Handle) Directory() string { return h.e.dir }

// Release gives the reference back; the last release closes the client and
// returns its Close error. Later calls do nothing.
func (h *Handle) Release() error {
	var err error
	h.once.Do(func() { err = h.reg.release(h) })
	return err
}
