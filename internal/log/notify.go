// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"sync"
	"sync/atomic"
)

// notifier wakes consumers of one namespace when an append lands. Waiters
// take a channel that is closed on the next append; appends pay only an
// atomic load when nobody waits.
type notifier struct {
	waiting atomic.Bool
	mu      sync.Mutex
	ch      chan struct{}
}

// wait returns a channel closed by the next notify.
func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
		n.waiting.Store(true)
	}
	return n.ch
}

func (n *notifier) notify() {
	if !n.waiting.Load() {
		return
	}
	n.mu.Lock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
		n.waiting.Store(false)
	}
	n.mu.Unlock()
}

func (c *Client) notifierFor(nk namespaceKey) *notifier {
	c.notifyMu.Lock()
	defer c.notifyMu.Unlock()
	n := c.notifiers[nk]
	if n == nil {
		n = &notifier{}
		c.notifiers[nk] = n
	}
	return n
}

// wakeAllConsumers signals every namespace, so waiting consumers notice Close.
func (c *Client) wakeAllConsumers() {
	c.notifyMu.Lock()
	ns := make([]*notifier, 0, len(c.notifiers))
	for _, n := range c.notifiers {
		ns = append(ns, n)
	}
	c.notifyMu.Unlock()
	for _, n := range ns {
		n.notify()
	}
}
