// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"sync"
	"time"

	"github.com/comet-otel/comet/testbed/internal/collector"
)

// diskPeak samples, every 20 ms until stopped, how much disk a directory of the running
// collector takes: its files plus the deleted files the collector still holds open (space the
// filesystem has not got back), and keeps the largest sample.
type diskPeak struct {
	mu      sync.Mutex
	max     int64 // largest sample
	deleted int64 // the deleted-but-open part of max
	samples int

	Stop func() // ends sampling and waits for it; safe to call more than once
}

func sampleDiskPeak(r *rig, dir string) *diskPeak {
	d := &diskPeak{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			d.sample(r.proc.Pid(), dir)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	d.Stop = sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	return d
}

func (d *diskPeak) sample(pid int, dir string) {
	u, err := collector.DirUsage(dir)
	held, herr := collector.DeletedOpenBytes(pid, dir)
	if err != nil || herr != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if u.Apparent+held > d.max {
		d.max, d.deleted = u.Apparent+held, held
	}
	d.samples++
}

// Peak returns the largest sample, its deleted-but-open part and the number of samples.
func (d *diskPeak) Peak() (max, deleted int64, samples int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.max, d.deleted, d.samples
}
