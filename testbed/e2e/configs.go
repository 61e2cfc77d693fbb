// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package e2e drives the built otelcol-comet collector end to end: scenarios (throughput,
// outage, crash, disk budget) on the comet edge buffer and on the persistent queues users
// pick today, and validation of the shipped examples. Everything runs from `go test`; see
// the testbed README for the commands and the knobs.
package e2e // import "github.com/comet-otel/comet/testbed/e2e"

import (
	"bytes"
	"fmt"
	"text/template"
)

// instance is where one collector listens and keeps its data. Every port is on 127.0.0.1.
type instance struct {
	OTLPPort    int
	HealthPort  int
	MetricsPort int
	DataDir     string
	BackendGRPC string // host:port of the mock backend's OTLP gRPC server
	BackendHTTP string // base URL of its OTLP HTTP server
}

// tuning is what a scenario varies on top of a variant.
type tuning struct {
	// Sync is the fsync policy of the comet exporter and comet_storage: none, interval or
	// always. file_storage keeps its default (fsync off) throughout.
	Sync string
	// Comet exporter retention and shape; zero values leave the component's defaults.
	MaxSize     int64
	SegmentSize int64
	WhenFull    string
	Shards      int
	// Drain is the exporter behind the comet receiver: otlp_grpc (default), otlp_http, or
	// otlp_grpc/reconnect (otlp_grpc with the grpc_reconnect extension in its middlewares).
	Drain string
	// Compression is the comet exporter's compression::type; "" keeps its default (zstd).
	Compression string
	// MaxRecordSize is the comet exporter's max_record_size; 0 keeps its default.
	MaxRecordSize int64
}

// variant is one way to get OTLP through a collector to the backend.
type variant struct {
	Name  string   // subtest name and table row
	Needs []string // component kinds/types the binary must have, e.g. "exporter/comet"
	Note  string   // printed under the tables the variant appears in
	tmpl  *template.Template
}

func (v variant) render(in instance, tu tuning) ([]byte, error) {
	if tu.Drain == "" {
		tu.Drain = "otlp_grpc"
	}
	var buf bytes.Buffer
	err := v.tmpl.Execute(&buf, struct {
		instance
		tuning
	}{in, tu})
	if err != nil {
		return nil, fmt.Errorf("render %s config: %w", v.Name, err)
	}
	return buf.Bytes(), nil
}

// head renders the extensions section (health_check plus extra) and the receivers section
// (the OTLP gRPC receiver plus extra).
func head(extraExtensions, extraReceivers string) string {
	return `
extensions:
  health_check:
    endpoint: 127.0.0.1:{{.HealthPort}}
` + extraExtensions + `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{{.OTLPPort}}
        max_recv_msg_size_mib: 64
` + extraReceivers
}

const commonTelemetry = `
  telemetry:
    logs:
      level: info
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: {{.MetricsPort}}
`

const queuePipelines = `
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp_grpc]
    logs:
      receivers: [otlp]
      exporters: [otlp_grpc]
`

var cometEdgeConfig = head(`
  grpc_reconnect:
`, `
  comet:
    directory: {{.DataDir}}/buffer
`) + `
exporters:
  comet:
    directory: {{.DataDir}}/buffer
    {{- if .Shards}}
    shards: {{.Shards}}
    {{- end}}
    {{- if .SegmentSize}}
    segment_size: {{.SegmentSize}}
    {{- end}}
    {{- if .MaxRecordSize}}
    max_record_size: {{.MaxRecordSize}}
    {{- end}}
    sync:
      mode: {{.Sync}}
    {{- if .MaxSize}}
    retention:
      max_size: {{.MaxSize}}
    {{- end}}
    {{- if .WhenFull}}
    when_full: {{.WhenFull}}
    {{- end}}
    {{- if .Compression}}
    compression:
      type: {{.Compression}}
    {{- end}}
  # The comet receiver acknowledges a batch only after the exporter returned: the exporter must
  # neither queue (that would acknowledge before delivery) nor retry on its own (the receiver
  # retries the same batch with the backoff above).
  otlp_grpc:
    endpoint: {{.BackendGRPC}}
    tls:
      insecure: true
    sending_queue:
      enabled: false
    retry_on_failure:
      enabled: false
  otlp_grpc/reconnect:
    endpoint: {{.BackendGRPC}}
    tls:
      insecure: true
    middlewares:
      - id: grpc_reconnect
    sending_queue:
      enabled: false
    retry_on_failure:
      enabled: false
  otlp_http:
    endpoint: {{.BackendHTTP}}
    sending_queue:
      enabled: false
    retry_on_failure:
      enabled: false
service:
  extensions: [health_check{{if eq .Drain "otlp_grpc/reconnect"}}, grpc_reconnect{{end}}]
  pipelines:
    traces/ingest:
      receivers: [otlp]
      exporters: [comet]
    logs/ingest:
      receivers: [otlp]
      exporters: [comet]
    traces/drain:
      receivers: [comet]
      exporters: [{{.Drain}}]
    logs/drain:
      receivers: [comet]
      exporters: [{{.Drain}}]
` + commonTelemetry

const fileStorageExt = `
  file_storage:
    directory: {{.DataDir}}/queue
    create_directory: true
`

const cometStorageExt = `
  comet_storage:
    directory: {{.DataDir}}/queue
    sync:
      mode: {{.Sync}}
`

// The variants, in table order.
var (
	variantComet = variant{
		Name:  "comet",
		Needs: []string{"exporter/comet", "receiver/comet"},
		Note:  "comet: otlp → comet exporter (disk log) → comet receiver → otlp_grpc; exporter without queue or retry, the receiver acks after delivery",
		tmpl:  template.Must(template.New("comet").Parse(cometEdgeConfig)),
	}
	variantFileStorage = queueVariantFor("file_storage", fileStorageExt,
		"file_storage: otlp → otlp_grpc with sending_queue on contrib file_storage (bbolt) at its defaults: fsync off, no compaction",
		"extension/file_storage")
	variantCometStorage = queueVariantFor("comet_storage", cometStorageExt,
		"comet_storage: otlp → otlp_grpc with sending_queue on the comet_storage extension",
		"extension/comet_storage")
	variantMemoryQueue = queueVariantFor("", "",
		"memory_queue: otlp → otlp_grpc with its in-memory sending_queue (nothing survives a restart; reference only)")
	variantFileStorageBatch = variant{
		Name:  "file_storage_batch",
		Needs: []string{"extension/file_storage"},
		Note: "file_storage_batch: otlp → otlp_grpc with sending_queue on contrib file_storage as users configure it: " +
			"sizer items, batch (flush_timeout 200ms, min_size 8192 items), the exporter's default retry_on_failure (5 s initial, 30 s max, 300 s max elapsed)",
		tmpl: template.Must(template.New("file_storage_batch").Parse(head(fileStorageExt, "") + batchedQueueExporter +
			"\nservice:\n  extensions: [health_check, file_storage]" + queuePipelines + commonTelemetry)),
	}
)

// batchedQueueExporter is otlp_grpc with a persistent queue that batches, at the exporter's
// defaults otherwise: what the collector's documentation leads a user to.
const batchedQueueExporter = `
exporters:
  otlp_grpc:
    endpoint: {{.BackendGRPC}}
    tls:
      insecure: true
    sending_queue:
      enabled: true
      storage: file_storage
      sizer: items
      queue_size: 100000000
      batch:
        flush_timeout: 200ms
        sizer: items
        min_size: 8192
`

// queueVariantFor builds the persistent-queue variant on storageID ("" for the memory queue).
func queueVariantFor(storageID, ext, note string, needs ...string) variant {
	name := storageID
	if name == "" {
		name = "memory_queue"
	}
	extList := "[health_check]"
	if storageID != "" {
		extList = "[health_check, " + storageID + "]"
	}
	text := head(ext, "") + queueExporterFor(storageID) +
		"\nservice:\n  extensions: " + extList + queuePipelines + commonTelemetry
	return variant{Name: name, Needs: needs, Note: note, tmpl: template.Must(template.New(name).Parse(text))}
}

// The retry settings are the same on every path (exporter retry for the queues, receiver
// retry for comet) so that "time to first delivery after the backend is back" compares the
// components and not their backoff defaults; max_elapsed_time 0 never gives up, so an
// outage can not turn into a silent drop.
func queueExporterFor(storageID string) string {
	storage := ""
	if storageID != "" {
		storage = "\n      storage: " + storageID
	}
	return `
exporters:
  otlp_grpc:
    endpoint: {{.BackendGRPC}}
    tls:
      insecure: true
    sending_queue:
      enabled: true` + storage + `
      num_consumers: 10
      queue_size: 1000000
    retry_on_failure:
      enabled: true
      initial_interval: 100ms
      max_interval: 1s
      max_elapsed_time: 0
`
}
