// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver // import "github.com/comet-otel/comet/cometreceiver"

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/receiver/receiverhelper"

	"github.com/comet-otel/comet/internal/otlpstream"
)

// recordFormat is the encoding the comet exporter stores, as named in the
// receiver's standard telemetry (the same as Kafka's "otlp_proto").
const recordFormat = "otlp_proto"

// sink turns records of one signal into downstream requests.
type sink interface {
	// decode decodes one record's payload.
	decode(data []byte) (request, error)
	// merge returns one request holding reqs' content in order; it
	// consumes reqs.
	merge(reqs []request) (request, error)
}

// request is one downstream request, ready to send.
type request interface {
	items() int
	// send hands the request to the next consumer, reporting the attempt
	// through the standard receiver telemetry.
	send(ctx context.Context) error
}

// signalSink is the sink of a signal whose requests are of type T.
type signalSink[T any] struct {
	codec   *otlpstream.Codec[T]
	consume func(context.Context, T) error
	obs     *receiverhelper.ObsReport
	startOp func(*receiverhelper.ObsReport, context.Context) context.Context
	endOp   func(obs *receiverhelper.ObsReport, ctx context.Context, format string, items int, err error)
}

type signalRequest[T any] struct {
	sink  *signalSink[T]
	data  T
	count int
}

func (s *signalSink[T]) decode(data []byte) (request, error) {
	d, err := s.codec.Unmarshal(data)
	if err != nil {
		return nil, err
	}
	return &signalRequest[T]{sink: s, data: d, count: s.codec.Count(d)}, nil
}

func (s *signalSink[T]) merge(reqs []request) (request, error) {
	first := reqs[0].(*signalRequest[T])
	for _, r := range reqs[1:] {
		next := r.(*signalRequest[T])
		if err := s.codec.MoveAppend(first.data, next.data); err != nil {
			return nil, fmt.Errorf("merge %s records: %w", s.codec.Signal, err)
		}
		first.count += next.count
	}
	return first, nil
}

func (r *signalRequest[T]) items() int { return r.count }

func (r *signalRequest[T]) send(ctx context.Context) error {
	s := r.sink
	opCtx := s.startOp(s.obs, ctx)
	err := s.consume(opCtx, r.data)
	s.endOp(s.obs, opCtx, recordFormat, r.count, err)
	return err
}
