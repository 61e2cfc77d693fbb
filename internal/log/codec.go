// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// One encoder and one decoder serve the whole process: their EncodeAll and
// DecodeAll are safe for concurrent use and keep pools of internal state,
// so no per-call allocation of codec state happens.
var (
	zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
		return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithZeroFrames(true))
	})
	zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
		return zstd.NewReader(nil, zstd.WithDecoderMaxMemory(hardMaxEntrySize), zstd.WithDecoderConcurrency(0))
	})
)

// appendPayload appends entry to dst, compressed when the codec asks for it
// and compression saves at least 10%. It returns the extended slice and the
// codec flag to store in the header.
func appendPayload(dst, entry []byte, cfg *CompressionConfig) ([]byte, byte) {
	if wantsCompression(entry, cfg) {
		if enc, err := zstdEncoder(); err == nil {
			start := len(dst)
			out := enc.EncodeAll(entry, dst)
			if saved := len(entry) - (len(out) - start); saved*10 >= len(entry) {
				return out, codecZstdFlag
			}
			dst = out[:start]
		}
	}
	return append(dst, entry...), codecRawFlag
}

// wantsCompression reports whether the codec asks for entry to be compressed.
func wantsCompression(entry []byte, cfg *CompressionConfig) bool {
	return cfg.Codec == CodecZstd && len(entry) >= cfg.MinCompressSize && len(entry) > 0
}

// decodePayload returns the entry stored in payload. Raw payloads are
// returned as is (no copy).
func decodePayload(payload []byte, flags byte) ([]byte, error) {
	switch flags & flagCodecMask {
	case codecRawFlag:
		return payload, nil
	case codecZstdFlag:
		dec, err := zstdDecoder()
		if err != nil {
			return nil, fmt.Errorf("zstd decoder: %w", err)
		}
		out, err := dec.DecodeAll(payload, nil)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		if out == nil {
			out = []byte{}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown codec flag %d", flags&flagCodecMask)
}
