// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// failureKind is how the next consumer refused a request.
type failureKind string

const (
	failureRetryable failureKind = "retryable"
	failurePermanent failureKind = "permanent"
)

func (r *cometReceiver) failed(ctx context.Context, kind failureKind) {
	r.telemetry.CometReceiverDeliveryFailures.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", string(kind))))
}

// delivered counts an accepted chunk and notes the time.
func (r *cometReceiver) delivered(ctx context.Context, ch chunk) {
	r.lastDelivery.Store(time.Now().UnixNano())
	r.telemetry.CometReceiverDeliveredRequests.Add(ctx, 1)
	r.telemetry.CometReceiverDeliveredRecords.Add(ctx, int64(len(ch.records)))
}

// registerCallbacks reports the group's lag, backlog age and time since
// the last delivery. They read shard ends and record headers, so they run
// at collection time only.
func (r *cometReceiver) registerCallbacks() error {
	groupAttrs := metric.WithAttributes(attribute.String("group", r.group), attribute.String("signal", r.signal.String()))
	return errors.Join(
		r.telemetry.RegisterCometReceiverLagCallback(func(ctx context.Context, o metric.Int64Observer) error {
			records, _ := r.lag(ctx)
			o.Observe(records, groupAttrs)
			return nil
		}),
		r.telemetry.RegisterCometReceiverBacklogAgeCallback(func(ctx context.Context, o metric.Float64Observer) error {
			shards, err := r.acker.Shards()
			if err != nil {
				return nil // closed or unreadable: nothing to report
			}
			now := time.Now()
			for _, s := range shards {
				age := 0.0
				if t, ok, err := r.acker.OldestUnackedTime(ctx, s); err == nil && ok {
					age = max(now.Sub(t).Seconds(), 0)
				}
				o.Observe(age, metric.WithAttributes(attribute.String("group", r.group), attribute.String("stream", r.streamName(s))))
			}
			return nil
		}),
		r.telemetry.RegisterCometReceiverTimeSinceLastDeliveryCallback(func(_ context.Context, o metric.Float64Observer) error {
			o.Observe(time.Since(time.Unix(0, r.lastDelivery.Load())).Seconds(), groupAttrs)
			return nil
		}),
	)
}

// lag is the group's unacknowledged records over all shards of the signal.
func (r *cometReceiver) lag(ctx context.Context) (int64, error) {
	shards, err := r.acker.Shards()
	if err != nil {
		return 0, err
	}
	var lag int64
	for _, s := range shards {
		if n, err := r.acker.GetLag(ctx, s); err == nil {
			lag += n
		} else {
			r.set.Logger.Debug("Cannot measure the lag of a shard", zap.Uint32("shard", s), zap.Error(err))
		}
	}
	return lag, nil
}
