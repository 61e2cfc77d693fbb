// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package kafka

import (
	"fmt"
	"strings"
)

// The configurations of the tests' pipelines, in the YAML a user writes. They use the keys
// the root README's table maps from the comet components to the kafka ones, so the test
// proves the table: a comet setting and its kafka counterpart carry the same data.

// group is the consumer group on both sides: the comet receiver's group, the kafka
// receiver's group_id.
const group = "otlp-drain"

// cometExporterYAML writes a signal to dir, partitioned as partitionBy.
func cometExporterYAML(dir, partitionBy string) string {
	return fmt.Sprintf(`
directory: %q
partition_by: %s
`, dir, partitionBy)
}

// cometExporterBytesYAML writes to one shard, so records keep the order of the requests,
// and keeps consumed data: the test reads the log back after the exporter, with no
// receiver in between.
func cometExporterBytesYAML(dir string) string {
	return fmt.Sprintf(`
directory: %q
shards: 1
partition_by: round_robin
retention:
  delete_consumed: false
`, dir)
}

// cometReceiverYAML reads dir as the group, from the oldest record.
func cometReceiverYAML(dir string) string {
	return fmt.Sprintf(`
directory: %q
group: %s
start_at: earliest
`, dir, group)
}

// kafkaExporterYAML publishes a signal to topic in the comet record format (otlp_proto).
// partitionKey ("" for none) is the kafka counterpart of the comet exporter's
// partition_by. Like the comet exporter, it returns only once the data is stored:
// no sending queue (the comet receiver upstream acknowledges a record only after this
// returns), and every in-sync replica must have the record.
func kafkaExporterYAML(brokers []string, signal, topic, partitionKey string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "brokers: %s\n", flowList(brokers))
	fmt.Fprintf(&b, "%s:\n  topic: %s\n  encoding: otlp_proto\n", signal, topic)
	if partitionKey != "" {
		fmt.Fprintf(&b, "%s: true\n", partitionKey)
	}
	b.WriteString("producer:\n  required_acks: -1\nsending_queue:\n  enabled: false\n")
	return b.String()
}

// kafkaReceiverYAML consumes a signal's topic as the group, from the oldest record (the
// kafka receiver's default is the newest, the comet receiver's the oldest), and, like
// the comet receiver, commits a record only after the pipeline accepted it, retries what
// the pipeline refuses for a while, and skips what it refuses for good.
func kafkaReceiverYAML(brokers []string, signal, topic string) string {
	return fmt.Sprintf(`
brokers: %s
group_id: %s
initial_offset: earliest
%s:
  topics: [%s]
  encoding: otlp_proto
message_marking:
  after: true
  on_error: false
  on_permanent_error: true
error_backoff:
  enabled: true
`, flowList(brokers), group, signal, topic)
}

// flowList writes strings as a YAML flow sequence.
func flowList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
