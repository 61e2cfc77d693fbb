// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
)

// verifyOffsetFiles checks every consumer offset file of a shard whose
// entries end at end.
func (v *verifier) verifyOffsetFiles(dir string, end int64) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		v.damage(dir, -1, -1, "cannot list consumer groups: %v", err)
		return
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		switch {
		case strings.HasSuffix(e.Name(), tempSuffix):
			v.notice(path, -1, -1, "leftover temporary offset file of a replacement that did not finish (or is under way)")
		case isOffsetFileName(e.Name()):
			v.sum.OffsetFiles++
			b, err := os.ReadFile(path)
			if errors.Is(err, os.ErrNotExist) {
				continue // the group was deleted since the listing
			}
			if err != nil {
				v.damage(path, -1, -1, "cannot read the offset file: %v", err)
				continue
			}
			v.checkOffsetFile(path, e.Name(), b, end)
		}
	}
}

// restartNote is what the engine does with an offset file it cannot read.
const restartNote = "the group restarts on this shard from the oldest entry at its next read"

// checkOffsetFile reports what is wrong with one offset file: its header,
// the group it names, its two slots and the offset they hold.
func (v *verifier) checkOffsetFile(path, name string, b []byte, end int64) {
	bad := func(offset int64, format string, args ...any) {
		v.damage(path, offset, -1, format+"; "+restartNote, args...)
	}
	switch {
	case len(b) < 16:
		bad(0, "offset file is %d bytes, shorter than its 16-byte header", len(b))
		return
	case string(b[0:4]) != offsetMagic:
		bad(0, "offset file magic is %q, not %q", b[0:4], offsetMagic)
		return
	case b[4] != offsetVersion:
		bad(4, "offset file version is %d, not %d", b[4], offsetVersion)
		return
	}
	n := int64(binary.LittleEndian.Uint32(b[8:]))
	if n > int64(len(b))-16 {
		bad(8, "group name length %d runs past the end of the file (%d bytes)", n, len(b))
		return
	}
	if crc32.Checksum(b[:12+n], castagnoli) != binary.LittleEndian.Uint32(b[12+n:]) {
		bad(12+n, "header checksum mismatch: the CRC-32C stored here does not match bytes 0 to %d (magic, group name)", 11+n)
		return
	}
	group := string(b[12 : 12+n])
	if want := groupFileName(group); want != name {
		bad(12, "the file holds group %q, whose offset file is named %s", group, want)
		return
	}
	off, ok := v.checkSlots(path, group, b, offsetSlotBase(int(n)))
	switch {
	case !ok:
	case off < 0:
		bad(-1, "group %q: offset %d is negative", group, off)
	case off > end:
		v.notice(path, -1, end, "group %q: offset %d is past the end of the shard (entry %d); the engine clamps it at the next open (entries lost with unsynced data at a power cut)", group, off, end)
	}
}

// checkSlots checks both offset slots and returns the offset of the valid
// one with the higher sequence. One bad slot is a notice: a torn
// acknowledgement leaves it so, by design; two are damage.
func (v *verifier) checkSlots(path, group string, b []byte, base int64) (off int64, ok bool) {
	type badSlot struct {
		at  int64
		why string
	}
	var seq uint64
	var bad []badSlot
	for i := int64(0); i < 2; i++ {
		o := base + i*offsetSlotSize
		if o+offsetSlotBytes > int64(len(b)) {
			bad = append(bad, badSlot{int64(len(b)), fmt.Sprintf("offset slot %d (bytes %d to %d) is missing: the file ends here", i, o, o+offsetSlotBytes-1)})
			continue
		}
		slot := b[o : o+offsetSlotBytes]
		if crc32.Checksum(slot[:16], castagnoli) != binary.LittleEndian.Uint32(slot[16:]) {
			bad = append(bad, badSlot{o, fmt.Sprintf("offset slot %d does not match its checksum", i)})
			continue
		}
		if s := binary.LittleEndian.Uint64(slot[0:]); !ok || s > seq {
			seq, off, ok = s, int64(binary.LittleEndian.Uint64(slot[8:])), true
		}
	}
	for _, s := range bad {
		if ok {
			v.notice(path, s.at, -1, "group %q: %s (an acknowledgement cut short by a crash); the other slot holds offset %d", group, s.why, off)
		} else {
			v.damage(path, s.at, -1, "group %q: %s, and neither slot is intact; %s", group, s.why, restartNote)
		}
	}
	return off, ok
}
