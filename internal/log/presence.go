// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// presenceDirName holds the group presence files. Its name has a '.',
// which no namespace can, so it never collides with a stream.
const presenceDirName = "comet.readers"

// A process that reads a consumer group announces it: while any of its
// Consumers of the group is open, it holds a shared OS lock on
// <dataDir>/comet.readers/<ns>.<ver>.g-<32 hex>.lock (the group hash of
// the offset files), which the kernel releases if the process dies.
// Tools that change a group's offsets from outside (cometctl groups reset
// and delete) take it exclusively, and refuse while anyone holds it:
// LockGroup.

// presence is one held presence lock and the Consumers that hold it.
type presence struct {
	f    *os.File
	refs int
}

// presences are the presence locks a Client holds, by file name: shared
// ones for its Consumers, exclusive ones its owner took with LockGroup.
type presences struct {
	mu        sync.Mutex
	held      map[string]*presence
	exclusive map[string]bool
}

// presenceFileName names the presence file of a group on a namespace.
func presenceFileName(nk namespaceKey, group string) string {
	return nk.ns + "." + nk.ver + "." + strings.TrimSuffix(groupFileName(group), offsetFileExt) + ".lock"
}

// announce takes (or shares) the presence lock of group on nk for one
// Consumer; the returned func gives it back. Failing to announce does not
// stop reading: the group is then only unprotected from outside tools.
func (c *Client) announce(nk namespaceKey, group string) (release func(), err error) {
	name := presenceFileName(nk, group)
	p := &c.presences
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exclusive[name] {
		return func() {}, nil // this client's owner changes the group: it knows
	}
	if p.held == nil {
		p.held = map[string]*presence{}
	}
	if h := p.held[name]; h != nil {
		h.refs++
		return c.releaser(name), nil
	}
	dir := filepath.Join(c.dir, presenceDirName)
	if err := os.MkdirAll(dir, c.cfg.Storage.DirMode); err != nil {
		return nil, fmt.Errorf("announce consumer group %q: %w", group, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, c.cfg.Storage.FileMode)
	if err != nil {
		return nil, fmt.Errorf("announce consumer group %q: %w", group, err)
	}
	if err := lockSharedWaiting(f, announceWait); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("announce consumer group %q: lock %s: %w", group, f.Name(), err)
	}
	p.held[name] = &presence{f: f, refs: 1}
	return c.releaser(name), nil
}

// announceWait bounds how long announce waits for a tool that holds the
// group's presence lock exclusively (LockGroup) to finish.
const announceWait = 2 * time.Second

// releaser returns the func that drops one reference to a presence lock.
func (c *Client) releaser(name string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			p := &c.presences
			p.mu.Lock()
			defer p.mu.Unlock()
			if h := p.held[name]; h != nil {
				if h.refs--; h.refs == 0 {
					_ = h.f.Close()
					delete(p.held, name)
				}
			}
		})
	}
}

// releaseAll drops every presence lock (Client.Close).
func (c *Client) releaseAllPresences() {
	p := &c.presences
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, h := range p.held {
		_ = h.f.Close()
		delete(p.held, name)
	}
}

// LockGroup is the package's LockGroup on the client's directory; the
// client's own Consumers of the group do not wait for it.
func (c *Client) LockGroup(namespace, version, group string) (unlock func() error, err error) {
	unlockFile, err := LockGroup(c.dir, namespace, version, group)
	if err != nil {
		return nil, err
	}
	name := presenceFileName(namespaceKey{ns: namespace, ver: version}, group)
	p := &c.presences
	p.mu.Lock()
	if p.exclusive == nil {
		p.exclusive = map[string]bool{}
	}
	p.exclusive[name] = true
	p.mu.Unlock()
	return func() error {
		p.mu.Lock()
		delete(p.exclusive, name)
		p.mu.Unlock()
		return unlockFile()
	}, nil
}

// LockGroup takes the presence lock of group on the namespace
// "namespace:version" of dataDir exclusively, for a tool that changes the
// group's offsets from outside: while it is held, no Consumer of the
// group starts in any process (one that tries waits up to
// announceWait). It fails at once, with an error matching ErrGroupInUse
// that names the lock file, while a Consumer of the group is open
// anywhere. The answer is the kernel's: a process that died holds nothing.
func LockGroup(dataDir, namespace, version, group string) (unlock func() error, err error) {
	if err := validateNamePart(namespace); err != nil {
		return nil, fmt.Errorf("%w: namespace %q: %v", ErrInvalidStream, namespace, err)
	}
	if err := validateNamePart(version); err != nil {
		return nil, fmt.Errorf("%w: version %q: %v", ErrInvalidStream, version, err)
	}
	dir := filepath.Join(dataDir, presenceDirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock consumer group %q: %w", group, err)
	}
	path := filepath.Join(dir, presenceFileName(namespaceKey{ns: namespace, ver: version}, group))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock consumer group %q: %w", group, err)
	}
	held, err := tryLockFile(f)
	switch {
	case err != nil:
		_ = f.Close()
		return nil, fmt.Errorf("lock consumer group %q: %s: %w", group, path, err)
	case held:
		_ = f.Close()
		return nil, fmt.Errorf("%w: %q on %s:%s is read by a running process (it holds %s)", ErrGroupInUse, group, namespace, version, path)
	}
	return f.Close, nil
}
