// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/comet-otel/comet/cometreceiver/internal/metadata"
	"github.com/comet-otel/comet/internal/log"
	"github.com/comet-otel/comet/internal/sharedlog"
)

// cometReceiver reads one signal's shards for its consumer group.
type cometReceiver struct {
	cfg        *Config
	set        receiver.Settings
	signal     pipeline.Signal
	pattern    string                    // the signal's streams, for Consumers
	streamName func(shard uint32) string // one shard's stream
	group      string
	sink       sink
	telemetry  *metadata.TelemetryBuilder
	gate       *gate
	outages    *outageReporter
	// lastDelivery is when the next consumer last accepted a request
	// (Unix nanoseconds).
	lastDelivery atomic.Int64

	// Set by Start.
	handle *sharedlog.Handle
	// acker acknowledges, lists shards and measures lag for the group;
	// each worker reads with a Consumer of its own.
	acker   *log.Consumer
	cancel  context.CancelFunc
	workers sync.WaitGroup
}

// streamSink is what newCometReceiver needs of a signal: its sink, the
// pattern and names of its streams.
type streamSink struct {
	signal     pipeline.Signal
	pattern    string
	streamName func(uint32) string
	newSink    func(obs *receiverhelper.ObsReport) sink
}

func newCometReceiver(cfg *Config, set receiver.Settings, s streamSink) (*cometReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "disk",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	group := cfg.Group
	if group == "" {
		group = set.ID.String()
	}
	r := &cometReceiver{
		cfg: cfg, set: set, signal: s.signal, pattern: s.pattern, streamName: s.streamName,
		group: group, sink: s.newSink(obs), telemetry: tb,
	}
	r.outages = &outageReporter{r: r, summaryEvery: defaultSummaryEvery}
	r.gate = newGate(newProbeSchedule(&cfg.RetryOnFailure), r.outages)
	return r, nil
}

// Start joins (or opens read-only) the directory's client, places a new
// group where start_at says, and starts the workers.
func (r *cometReceiver) Start(_ context.Context, host component.Host) error {
	start, err := r.cfg.StartAt.resolve(time.Now())
	if err != nil {
		return fmt.Errorf("start_at: %w", err)
	}
	h, err := sharedlog.Default().OpenReader(r.cfg.Directory, r.set.Logger, r.set.ID.String())
	if err != nil {
		return err
	}
	r.handle = h
	r.outages.health.SetHost(host)
	r.acker = log.NewConsumer(h.Client(), r.consumerOptions(startPosition{at: log.StartEarliest}))
	if err := r.placeGroup(start); err != nil {
		_ = r.release()
		return err
	}
	// The engine's own telemetry comes from the writer when it is in this
	// process, from a receiver otherwise.
	if err := errors.Join(r.registerCallbacks(), h.ReportTelemetry(r.set.TelemetrySettings)); err != nil {
		_ = r.release()
		return err
	}
	r.lastDelivery.Store(time.Now().UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for id := range r.cfg.Workers {
		r.workers.Go(func() { r.runWorker(ctx, id) })
	}
	r.set.Logger.Info("Comet receiver reading", zap.String("directory", h.Directory()),
		zap.String("group", r.group), zap.Stringer("signal", r.signal), zap.Int("workers", r.cfg.Workers),
		zap.Bool("writer_in_process", h.Writable()))
	return nil
}

// Shutdown stops the workers (a request being delivered is abandoned, not
// acknowledged) and releases the client.
func (r *cometReceiver) Shutdown(ctx context.Context) error {
	if r.cancel == nil {
		r.telemetry.Shutdown()
		return nil
	}
	r.cancel()
	stopped := make(chan struct{})
	go func() {
		r.workers.Wait()
		close(stopped)
	}()
	var err error
	select {
	case <-stopped:
	case <-ctx.Done():
		// The next consumer ignores cancellation. Closing the client
		// below makes the workers stop at their next read or ack.
		r.set.Logger.Warn("Comet receiver workers did not stop before the shutdown deadline")
		err = ctx.Err()
	}
	return errors.Join(err, r.release())
}

func (r *cometReceiver) release() error {
	r.telemetry.Shutdown()
	_ = r.acker.Close()
	return r.handle.Release()
}

func (r *cometReceiver) consumerOptions(start startPosition) log.ConsumerOptions {
	return log.ConsumerOptions{Group: r.group, Stream: r.pattern, Start: start.at, StartTime: start.time}
}

// placeGroup registers the group at its start position on every existing
// shard it has not read yet; offsets the group already has stay. The
// workers' Consumers then start at the earliest entry, which only
// applies to shards created later: all their records are newer than
// any start position.
func (r *cometReceiver) placeGroup(start startPosition) error {
	if start.at == log.StartEarliest {
		return nil
	}
	c := log.NewConsumer(r.handle.Client(), r.consumerOptions(start))
	defer c.Close()
	if err := c.Register(context.Background()); err != nil {
		return fmt.Errorf("start consumer group %q at start_at %q: %w", r.group, r.cfg.StartAt, err)
	}
	return nil
}
