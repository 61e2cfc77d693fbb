// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package mockbackend // import "github.com/comet-otel/comet/testbed/internal/mockbackend"

import (
	"compress/gzip"
	"fmt"
	"io"
	"mime"
	"net/http"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

const (
	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"
	maxBodyBytes     = 64 << 20
)

// decoder decodes one OTLP/HTTP request body into the backend's records and returns the
// encoded (empty) response.
type decoder func(b *Backend, body []byte, json bool) (resp []byte, err error)

func decodeTraces(b *Backend, body []byte, json bool) ([]byte, error) {
	req := ptraceotlp.NewExportRequest()
	var err error
	if json {
		err = req.UnmarshalJSON(body)
	} else {
		err = req.UnmarshalProto(body)
	}
	if err != nil {
		return nil, err
	}
	b.recordTraces(req.Traces())
	if json {
		return ptraceotlp.NewExportResponse().MarshalJSON()
	}
	return ptraceotlp.NewExportResponse().MarshalProto()
}

func decodeLogs(b *Backend, body []byte, json bool) ([]byte, error) {
	req := plogotlp.NewExportRequest()
	var err error
	if json {
		err = req.UnmarshalJSON(body)
	} else {
		err = req.UnmarshalProto(body)
	}
	if err != nil {
		return nil, err
	}
	b.recordLogs(req.Logs())
	if json {
		return plogotlp.NewExportResponse().MarshalJSON()
	}
	return plogotlp.NewExportResponse().MarshalProto()
}

func (b *Backend) handleHTTP(decode decoder) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !b.admit() {
			// No Retry-After: the exporter then uses its own backoff, as with gRPC Unavailable.
			http.Error(w, "mock backend is down", http.StatusServiceUnavailable)
			return
		}
		mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || (mediaType != contentTypeProto && mediaType != contentTypeJSON) {
			b.invalid.Add(1)
			http.Error(w, fmt.Sprintf("unsupported content type %q", r.Header.Get("Content-Type")), http.StatusUnsupportedMediaType)
			return
		}
		body, err := readBody(r)
		if err != nil {
			b.invalid.Add(1)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := decode(b, body, mediaType == contentTypeJSON)
		if err != nil {
			b.invalid.Add(1)
			http.Error(w, "cannot decode OTLP request: "+err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", mediaType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(resp)
	}
}

func readBody(r *http.Request) ([]byte, error) {
	var src io.Reader = http.MaxBytesReader(nil, r.Body, maxBodyBytes)
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		gz, err := gzip.NewReader(src)
		if err != nil {
			return nil, fmt.Errorf("bad gzip body: %w", err)
		}
		defer gz.Close()
		src = io.LimitReader(gz, maxBodyBytes+1)
	default:
		return nil, fmt.Errorf("unsupported content encoding %q (the exporter's compression must be gzip or none)", enc)
	}
	body, err := io.ReadAll(src)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxBodyBytes {
		return nil, fmt.Errorf("body larger than %d bytes", maxBodyBytes)
	}
	return body, nil
}
