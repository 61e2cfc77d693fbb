// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package main // import "github.com/comet-otel/comet/cmd/cometctl"

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// exportOutput is export's destination: stdout, or a file written under a
// temporary name and renamed into place once complete, so a failed or
// interrupted export never leaves a partial file under the name asked for.
type exportOutput struct {
	*bufio.Writer
	name string   // for messages
	f    *os.File // the temporary file; nil for stdout
	path string   // the final name
}

func createOutput(path string, stdout io.Writer) (*exportOutput, error) {
	if path == "-" {
		return &exportOutput{Writer: bufio.NewWriterSize(stdout, 1<<20), name: "stdout"}, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create output file: %w", err)
	}
	return &exportOutput{Writer: bufio.NewWriterSize(f, 1<<20), name: abs, f: f, path: abs}, nil
}

// commit flushes the output and, for a file, syncs it and gives it its name.
func (o *exportOutput) commit() error {
	if err := o.Flush(); err != nil {
		o.abort()
		return fmt.Errorf("write %s: %w", o.name, err)
	}
	if o.f == nil {
		return nil
	}
	err := o.f.Sync()
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(o.f.Name(), o.path)
	}
	if err != nil {
		_ = os.Remove(o.f.Name())
		return fmt.Errorf("write %s: %w", o.name, err)
	}
	return nil
}

// abort removes a temporary file; what went to stdout stays written.
func (o *exportOutput) abort() {
	if o.f != nil {
		_ = o.f.Close()
		_ = os.Remove(o.f.Name())
	}
}

// outsideDir refuses an output path inside the data directory: export
// never writes there.
func outsideDir(path, dir string) error {
	if path == "-" {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(dir, abs)
	if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("-o %s is inside the data directory %s; write the export elsewhere", path, dir)
	}
	return nil
}
