// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// jsonLog is an 800-byte-ish structured log line, as an OTLP log body or
// a JSON exporter would carry.
func jsonLog(i int) []byte {
	return fmt.Appendf(nil, `{"timestamp":"2026-11-21T10:%02d:%02d.%06dZ","severity":"INFO","service.name":"checkout","host.name":"edge-gw-17",`+
		`"trace_id":"%032x","span_id":"%016x","http.method":"POST","http.route":"/api/v1/orders/{id}","http.status_code":200,`+
		`"user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",`+
		`"message":"order %d accepted: %d items, total %d.%02d EUR, payment authorised by provider acme-pay, fulfilment queued in warehouse eu-central-1",`+
		`"k8s.pod.name":"checkout-7d9f8b6c5d-x2k4p","k8s.namespace.name":"shop","attributes":{"retry":0,"cache":"hit","region":"eu-central-1"}}`,
		i/60%60, i%60, i*37%1000000, i*7919, i*104729, i, i%17, i%500, i%100)
}

func TestCompression_Zstd_RoundTripsAndSavesSpace(t *testing.T) {
	cfg := testConfig()
	cfg.Compression = CompressionConfig{Codec: CodecZstd, MinCompressSize: 512}
	c := openClient(t, t.TempDir(), cfg)
	rng := rand.New(rand.NewPCG(3, 4))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var entries [][]byte
	for i := range 200 {
		entries = append(entries, jsonLog(i))
	}
	_, err := c.Append(context.Background(), "logs:v1:shard:0000", entries)
	require.NoError(t, err)
	st := c.GetStats()
	require.EqualValues(t, 200, st.CompressedEntries)
	require.Less(t, float64(st.WrittenBytes), 0.8*float64(st.TotalBytes), "JSON logs compress, even one at a time")

	_, err = c.Append(context.Background(), "logs:v1:shard:0000", [][]byte{random, []byte("short entry below the threshold")})
	require.NoError(t, err)
	require.EqualValues(t, 200, c.GetStats().CompressedEntries, "incompressible and small entries are stored raw")

	got := drain(t, NewConsumer(c, ConsumerOptions{Group: "g", Stream: "logs:v1:shard:*"}), 64)
	require.Len(t, got, 202)
	for i := range entries {
		require.Equal(t, entries[i], got[i].Data)
	}
	require.Equal(t, random, got[200].Data)
}
