// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// Fuzz targets for the parsers of files and names a data directory may
// hold in any state: index files, offset files, the format marker, and
// the names of directories and files. Each never panics and accepts only
// what its encoder produces.

// FuzzDecodeIndex: an index that decodes is internally consistent and,
// with its reserved bytes zero, encodes back to the same bytes.
func FuzzDecodeIndex(f *testing.F) {
	x := newSparseIndex(4, 8)
	for rel := int64(0); rel < 12; rel += 4 {
		x.add(indexPoint{rel: rel, pos: rel * 30, ts: 1000 + rel})
	}
	valid := encodeIndex(segmentSummary{size: 400, count: 13, minTs: 1000, maxTs: 1012}, x)
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add(withChecksum(append([]byte("CMIX\x02\x00\x00\x00"), make([]byte, 48)...)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = newerIndexFormat(b)
		sum, x, err := decodeIndex(b, 16)
		if err != nil {
			return
		}
		for i, p := range x.points {
			if p.rel >= sum.count || p.pos >= sum.size || p.rel%x.step != 0 || i > 0 && (p.rel <= x.points[i-1].rel || p.pos <= x.points[i-1].pos) {
				t.Fatalf("accepted an inconsistent point %+v of %+v", p, sum)
			}
		}
		if bytes.Equal(b[5:8], []byte{0, 0, 0}) && !bytes.Equal(encodeIndex(sum, x), b) {
			t.Fatalf("an accepted index does not encode back to its bytes")
		}
	})
}

// FuzzDecodeOffsetFile: an offset file that decodes names a group and an
// offset that a freshly encoded file of that group decodes to again.
func FuzzDecodeOffsetFile(f *testing.F) {
	f.Add(encodeOffsetFile("receiver/comet", 41, 7))
	f.Add(encodeOffsetFile("g\x00✓", 0, 1))
	f.Add(encodeOffsetFile("", 1<<40, 2)[:20])
	f.Add([]byte("CMOF\x02\x00\x00\x00\x01\x00\x00\x00gxxxx"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = newerOffsetFormat(b)
		name, off, seq, err := decodeOffsetFile(b)
		if err != nil {
			return
		}
		name2, off2, _, err := decodeOffsetFile(encodeOffsetFile(name, off, seq))
		if err != nil || name2 != name || off2 != off {
			t.Fatalf("re-encoding (%q, %d) gives (%q, %d, %v)", name, off, name2, off2, err)
		}
	})
}

// FuzzDecodeFormatMarker: a marker that decodes is exactly the encoding
// of its version.
func FuzzDecodeFormatMarker(f *testing.F) {
	f.Add(encodeFormatMarker(1))
	f.Add(encodeFormatMarker(7))
	f.Add([]byte("CMFV"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeFormatMarker(b)
		if err == nil && !bytes.Equal(encodeFormatMarker(uint32(v)), b) {
			t.Fatalf("marker of version %d does not encode back to its bytes", v)
		}
	})
}

// FuzzNames: every name the engine reads back from a directory is the
// one it writes for the same value (so two names never map to one
// segment, index or shard), and a stream name that parses becomes a
// relative path of three plain components.
func FuzzNames(f *testing.F) {
	for _, s := range []string{segmentFileName(0), indexFileName(1 << 40), "shard-0007", "shard-12345",
		"shard-00001", "log-0000000000000001.comet.tmp", "traces:v1:shard:0003", "a:b:shard:4294967295",
		"../x:v1:shard:1", "logs:v1:shard:*", "log-+000000000000001.comet"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if base, ok := parseSegmentFileName(s); ok && segmentFileName(base) != s {
			t.Fatalf("%q parses as segment %d, written %q", s, base, segmentFileName(base))
		}
		if base, ok := parseIndexFileName(s); ok && indexFileName(base) != s {
			t.Fatalf("%q parses as index %d, written %q", s, base, indexFileName(base))
		}
		if id, ok := parseShardDir(s); ok && (streamKey{ns: "n", ver: "v", shard: id}).dir() != filepath.Join("n", "v", s) {
			t.Fatalf("%q parses as shard %d, whose directory is %q", s, id, streamKey{shard: id}.dir())
		}
		_ = isLeftover(s, map[string]bool{})
		if k, err := parseStream(s); err == nil {
			parts := strings.Split(k.dir(), string(filepath.Separator))
			if len(parts) != 3 || filepath.IsAbs(k.dir()) || filepath.Clean(k.dir()) != k.dir() {
				t.Fatalf("stream %q maps to directory %q", s, k.dir())
			}
			for _, p := range parts {
				if p == "." || p == ".." || p == "" {
					t.Fatalf("stream %q maps to directory %q", s, k.dir())
				}
			}
		}
		_, _, _ = parsePattern(s)
	})
}
