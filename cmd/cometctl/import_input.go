// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/comet-otel/comet/internal/otlpstream"
)

// inputRecord is one request read from an import file.
type inputRecord struct {
	proto []byte // the request as OTLP protobuf, as it will be stored
	items int    // spans, data points, ...
	where string // "line 12" or "byte offset 4096", for messages
}

// recordReader reads the requests of an import file; next returns io.EOF
// after the last one.
type recordReader interface {
	next() (inputRecord, error)
}

// Input formats. A file in the proto format starts with a big-endian
// record length below 1 GiB, so its first byte is below 0x40; a JSON line
// starts with '{' (0x7B) or white space. The first byte tells them apart.
const (
	formatAuto  = "auto"
	formatJSON  = "json"
	formatProto = "proto"
)

// newRecordReader returns a reader of r in format (auto: detected from the
// first byte) and the format it reads.
func newRecordReader(r *bufio.Reader, format string, sig *otlpstream.Converter, maxSize int) (recordReader, string, error) {
	if format == formatAuto {
		format = formatProto
		b, err := r.Peek(1)
		switch {
		case errors.Is(err, io.EOF):
		case err != nil:
			return nil, "", err
		case b[0] == '{' || isSpace(b[0]):
			format = formatJSON
		}
	}
	if format == formatJSON {
		return &jsonLines{r: r, sig: sig, maxSize: maxSize}, format, nil
	}
	return &protoFrames{r: r, sig: sig, maxSize: maxSize}, format, nil
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// maxJSONLine bounds one JSON line, so a file without newlines cannot
// make the reader take all memory. OTLP JSON is a few times larger than
// its protobuf; records are at most 1 GiB.
const maxJSONLine = 1 << 30

// jsonLines reads one OTLP JSON request per line (the file exporter's
// format); blank lines are skipped.
type jsonLines struct {
	r       *bufio.Reader
	sig     *otlpstream.Converter
	maxSize int
	line    int
}

func (j *jsonLines) next() (inputRecord, error) {
	for {
		line, err := j.readLine()
		if err != nil {
			return inputRecord{}, err
		}
		j.line++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		where := fmt.Sprintf("line %d", j.line)
		proto, items, err := j.sig.JSONToProto(line)
		if err != nil {
			return inputRecord{}, fmt.Errorf("%s: %w", where, err)
		}
		if len(proto) == 0 {
			return inputRecord{}, fmt.Errorf("%s: %w", where, emptyError(j.sig))
		}
		if len(proto) > j.maxSize {
			return inputRecord{}, fmt.Errorf("%s: the request encodes to %d bytes of protobuf, more than --max-record-size (%d); raise it (the receiver delivers it as one request)", where, len(proto), j.maxSize)
		}
		return inputRecord{proto: proto, items: items, where: where}, nil
	}
}

// readLine returns the next line without its newline, or io.EOF.
func (j *jsonLines) readLine() ([]byte, error) {
	var line []byte
	for {
		part, err := j.r.ReadSlice('\n')
		if len(line)+len(part) > maxJSONLine {
			return nil, fmt.Errorf("line %d is longer than %d bytes", j.line+1, maxJSONLine)
		}
		line = append(line, part...)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		case err != nil:
			return nil, err
		}
		return bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'}), nil
	}
}

// protoFrames reads length-delimited protobuf requests: a 4-byte
// big-endian length, then that many bytes (the file exporter's proto
// format, and what export --format proto writes).
type protoFrames struct {
	r       *bufio.Reader
	sig     *otlpstream.Converter
	maxSize int
	off     int64
}

func (p *protoFrames) next() (inputRecord, error) {
	var size [4]byte
	start := p.off
	n, err := io.ReadFull(p.r, size[:])
	p.off += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		return inputRecord{}, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return inputRecord{}, fmt.Errorf("byte offset %d: the file ends inside a record's 4-byte length", start)
	case err != nil:
		return inputRecord{}, err
	}
	length := int64(binary.BigEndian.Uint32(size[:]))
	where := fmt.Sprintf("byte offset %d", start)
	if length > int64(p.maxSize) {
		return inputRecord{}, fmt.Errorf("%s: the record is %d bytes, more than --max-record-size (%d): raise it, or the file is not length-delimited OTLP protobuf (--format)", where, length, p.maxSize)
	}
	b := make([]byte, length)
	n, err = io.ReadFull(p.r, b)
	p.off += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return inputRecord{}, fmt.Errorf("%s: the record is %d bytes, the file ends after %d of them", where, length, n)
	}
	if err != nil {
		return inputRecord{}, err
	}
	if length == 0 {
		return inputRecord{}, fmt.Errorf("%s: %w", where, emptyError(p.sig))
	}
	items, err := p.sig.CheckProto(b)
	if err != nil {
		return inputRecord{}, fmt.Errorf("%s: %w", where, err)
	}
	return inputRecord{proto: b, items: items, where: where}, nil
}
