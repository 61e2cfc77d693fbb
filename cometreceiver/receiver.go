// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/comet-otel/comet/cometreceiver/internal/metadata"
	"github.com/comet-otel/comet/internal/log"
	"github.com/comet-otel/comet/internal/sharedlog"
)

// streamVersion is the version part of the streams the comet exporter
// writes: "<signal>:v1:shard:NNNN".
const streamVersion = "v1"

// cometReceiver reads one signal's shards for its consumer group.
type cometReceiver struct {
	cfg       *Config
	set       receiver.Settings
	signal    pipeline.Signal
	group     string
	sink      sink
	obs       *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder
	lagAttrs  metric.ObserveOption

	// Set by Start.
	handle *sharedlog.Handle
	// acker acknowledges, lists shards and measures lag for the group;
	// each worker reads with a Consumer of its own.
	acker   *log.Consumer
	cancel  context.CancelFunc
	workers sync.WaitGroup
}

func newCometReceiver(cfg *Config, set receiver.Settings, signal pipeline.Signal, s sink) (*cometReceiver, error) {
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
	return &cometReceiver{
		cfg: cfg, set: set, signal: signal, group: group, sink: s, obs: obs, telemetry: tb,
		lagAttrs: metric.WithAttributes(attribute.String("group", group), attribute.String("signal", signal.String())),
	}, nil
}

// Start joins (or opens read-only) the directory's client and starts the
// workers.
func (r *cometReceiver) Start(_ context.Context, _ component.Host) error {
	h, err := sharedlog.Default().OpenReader(r.cfg.Directory, r.set.Logger, r.set.ID.String())
	if err != nil {
		return err
	}
	r.handle = h
	r.acker = log.NewConsumer(h.Client(), r.consumerOptions(log.StartEarliest))
	if r.cfg.StartAt == StartAtLatest {
		if err := r.startGroupAtLatest(); err != nil {
			_ = r.release()
			return err
		}
	}
	client := h.Client()
	if err := errors.Join(
		r.telemetry.RegisterCometReceiverLagCallback(r.observeLag),
		r.telemetry.RegisterCometReceiverLostRecordsCallback(func(_ context.Context, o metric.Int64Observer) error {
			st := client.GetStats()
			o.Observe(st.LostEntries + st.CorruptEntries)
			return nil
		}),
	); err != nil {
		_ = r.release()
		return err
	}
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

// Shutdown stops the workers (a record being delivered is abandoned, not
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

func (r *cometReceiver) consumerOptions(start log.StartPosition) log.ConsumerOptions {
	return log.ConsumerOptions{Group: r.group, Stream: r.signal.String() + ":" + streamVersion + ":shard:*", Start: start}
}

// startGroupAtLatest registers the group at the current end of every
// existing shard it has not read yet; offsets the group already has stay.
// The workers' Consumers can then start at the earliest entry: that only
// applies to shards created later, which start_at latest reads from their
// start too.
func (r *cometReceiver) startGroupAtLatest() error {
	c := log.NewConsumer(r.handle.Client(), r.consumerOptions(log.StartLatest))
	defer c.Close()
	if err := c.Register(context.Background()); err != nil {
		return fmt.Errorf("start consumer group %q at the latest records: %w", r.group, err)
	}
	return nil
}

// observeLag reports the group's unacknowledged records over all shards
// of the signal. It reads each shard's end, so it runs at collection time.
func (r *cometReceiver) observeLag(ctx context.Context, o metric.Int64Observer) error {
	shards, err := r.acker.Shards()
	if err != nil {
		return nil // closed or unreadable: nothing to report
	}
	var lag int64
	for _, s := range shards {
		if n, err := r.acker.GetLag(ctx, s); err == nil {
			lag += n
		}
	}
	o.Observe(lag, r.lagAttrs)
	return nil
}
