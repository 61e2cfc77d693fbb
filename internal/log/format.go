// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"

	"go.uber.org/zap"
)

// On-disk format versions (see "Format versions" in doc.go). A release
// reads every format up to FormatVersion and refuses newer ones with a
// *FormatError, before it reads, repairs or deletes anything they hold:
// data of a newer format is neither damage nor garbage.
const (
	// FormatVersion is the on-disk format this release writes and the
	// newest it reads.
	FormatVersion = 1

	formatFileName = "comet.format"
	formatMagic    = "CMFV"
	formatFileSize = 16
)

// ErrNewerFormat matches (errors.Is) every *FormatError.
var ErrNewerFormat = errors.New("comet: written by a newer on-disk format")

// FormatError reports a directory or file written in a newer on-disk
// format than this release reads. NewClient returns it (wrapped) instead
// of opening the directory; nothing in it is modified.
type FormatError struct {
	Path      string // the format marker, segment, index or offset file
	Offset    int64  // byte offset of the record in a segment; -1 for a whole file
	What      string // "directory", "record", "index file", "offset file"
	Found     int    // version found
	Supported int    // newest version of that kind this release reads
}

func (e *FormatError) Error() string {
	at := e.Path
	if e.Offset >= 0 {
		at = fmt.Sprintf("%s at offset %d", e.Path, e.Offset)
	}
	return fmt.Sprintf("comet: %s: %s of on-disk format version %d, newer than this release reads (version %d and older); open it with the release that wrote it or a later one",
		at, e.What, e.Found, e.Supported)
}

// Unwrap makes errors.Is(err, ErrNewerFormat) hold.
func (e *FormatError) Unwrap() error { return ErrNewerFormat }

// encodeFormatMarker returns the content of comet.format for version v.
func encodeFormatMarker(v uint32) []byte {
	b := make([]byte, formatFileSize)
	copy(b[0:4], formatMagic)
	binary.LittleEndian.PutUint32(b[4:8], v)
	binary.LittleEndian.PutUint32(b[12:16], crc32.Checksum(b[:12], castagnoli))
	return b
}

var errBadFormatMarker = errors.New("format marker is damaged")

// decodeFormatMarker returns the version a comet.format file states.
func decodeFormatMarker(b []byte) (int, error) {
	if len(b) != formatFileSize || string(b[0:4]) != formatMagic {
		return 0, fmt.Errorf("%w: %d bytes, want %d starting with %q", errBadFormatMarker, len(b), formatFileSize, formatMagic)
	}
	if crc32.Checksum(b[:12], castagnoli) != binary.LittleEndian.Uint32(b[12:16]) {
		return 0, fmt.Errorf("%w: checksum mismatch", errBadFormatMarker)
	}
	v := binary.LittleEndian.Uint32(b[4:8])
	if v == 0 || v > 1<<16 {
		return 0, fmt.Errorf("%w: version %d", errBadFormatMarker, v)
	}
	return int(v), nil
}

// checkFormatMarker refuses a directory whose comet.format names a newer
// format. A writer creates the marker when it is missing (a new
// directory, or one written before markers existed: format 1, whose
// files are read unchanged) and rewrites a damaged one; a damaged or
// unreadable marker is logged, never a reason not to open, since every
// segment, index and offset file carries its own version too.
func checkFormatMarker(dir string, readOnly bool, mode os.FileMode, log *zap.Logger) error {
	path := filepath.Join(dir, formatFileName)
	b, err := readSmallFile(path, formatFileSize)
	if err == nil {
		var v int
		if v, err = decodeFormatMarker(b); err == nil {
			if v > FormatVersion {
				return &FormatError{Path: path, Offset: -1, What: "directory", Found: v, Supported: FormatVersion}
			}
			return nil
		}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		log.Warn("Ignoring an unreadable on-disk format marker; every file's own version is still checked",
			zap.String("file", path), zap.Error(err))
	}
	if readOnly {
		return nil
	}
	if werr := writeFileAtomic(path, encodeFormatMarker(FormatVersion), mode, true); werr != nil {
		log.Warn("Could not write the on-disk format marker", zap.String("file", path), zap.Error(werr))
		return nil
	}
	if serr := syncDir(dir); serr != nil {
		log.Warn("Could not sync the data directory after writing the format marker", zap.String("dir", dir), zap.Error(serr))
	}
	return nil
}

// recordFormatOf is the format version a record header declares: byte 17
// holds it minus one, so the zero that format-1 writers always wrote
// there reads as format 1.
func recordFormatOf(hdr []byte) int { return int(hdr[17]) + 1 }

// newerRecordFormat reports whether the record at the start of rec (its
// whole header and payload) was written by a newer format: the version
// byte says so and the checksum, which covers it, holds. Length and
// checksum keep their place and meaning in every format so that an
// older reader can tell a newer record from damage.
func newerRecordFormat(h header, rec []byte) bool {
	return recordFormatOf(rec) > FormatVersion && int64(len(rec)) == h.recordSize() && checksumOK(h, rec)
}

// newerIndexFormat reports whether b is an index file of a newer version:
// magic and version in place and its trailing checksum intact.
func newerIndexFormat(b []byte) (version int, newer bool) {
	if len(b) < 12 || string(b[0:4]) != indexMagic || b[4] <= indexVersion {
		return 0, false
	}
	body := b[:len(b)-4]
	return int(b[4]), crc32.Checksum(body, castagnoli) == binary.LittleEndian.Uint32(b[len(b)-4:])
}

// newerOffsetFormat reports whether b is an offset file of a newer
// version: magic, version, name length, name and header checksum in
// place, and the checksum intact.
func newerOffsetFormat(b []byte) (version int, newer bool) {
	if len(b) < 16 || string(b[0:4]) != offsetMagic || b[4] <= offsetVersion {
		return 0, false
	}
	n := uint64(binary.LittleEndian.Uint32(b[8:]))
	if n > uint64(len(b)-16) {
		return 0, false
	}
	return int(b[4]), crc32.Checksum(b[:12+n], castagnoli) == binary.LittleEndian.Uint32(b[12+n:])
}

// checkOffsetFormats refuses a shard whose groups directory holds an
// offset file of a newer version, before any group is loaded (a damaged
// offset file is rewritten, which would destroy a newer one).
func checkOffsetFormats(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // no groups yet, or not a directory: groups report it when used
	}
	for _, e := range entries {
		if !isOffsetFileName(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := readSmallFile(path, maxOffsetFileSize)
		if err != nil {
			continue // reported when the group is used
		}
		if v, newer := newerOffsetFormat(b); newer {
			return &FormatError{Path: path, Offset: -1, What: "offset file", Found: v, Supported: offsetVersion}
		}
	}
	return nil
}

// withPath names the file of a *FormatError that a scan found by offset
// only.
func withPath(err error, path string) error {
	var fe *FormatError
	if errors.As(err, &fe) && fe.Path == "" {
		fe.Path = path
	}
	return err
}
