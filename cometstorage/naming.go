// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage // import "github.com/comet-otel/comet/cometstorage"

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"go.opentelemetry.io/collector/component"
)

// A storage client's directory name is built from the four parts that
// identify it: the owner's kind, type and name, and the storage name the
// owner asked for. Each part is escaped and the parts are joined with '~':
//
//   - bytes in [a-z0-9_-] are kept;
//   - every other byte, including upper-case letters, '.', '/', '\', '~',
//     NUL and each byte of a multi-byte character, becomes '.' and two
//     upper-case hex digits ("/" is ".2F", "A" is ".41").
//
// Escaped parts never contain '~', and '.' only starts an escape, so the
// mapping is injective: two different clients never share a directory,
// also on case-insensitive filesystems (which is why upper case is
// escaped), and no byte of a component name reaches a path unescaped. The
// result never is "." or "..", never holds a path separator and, because
// it starts with the kind, is never a reserved Windows device name.
//
// Names longer than maxDirNameLen (file systems allow 255 bytes) are
// replaced by "sha256-" and the hex SHA-256 of the escaped name; that form
// has no '~', so it cannot collide with an escaped name.
const (
	partSeparator = '~'
	escapeByte    = '.'
	maxDirNameLen = 200
	hashedPrefix  = "sha256-"
)

// clientDirName returns the directory name of the storage client of
// component id (of the given kind) named storageName.
func clientDirName(kind component.Kind, id component.ID, storageName string) string {
	var b strings.Builder
	escapePart(&b, kindName(kind))
	b.WriteByte(partSeparator)
	escapePart(&b, id.Type().String())
	b.WriteByte(partSeparator)
	escapePart(&b, id.Name())
	b.WriteByte(partSeparator)
	escapePart(&b, storageName)
	name := b.String()
	if len(name) > maxDirNameLen {
		sum := sha256.Sum256([]byte(name))
		return hashedPrefix + hex.EncodeToString(sum[:])
	}
	return name
}

func escapePart(b *strings.Builder, part string) {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(part); i++ {
		c := part[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(escapeByte)
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0x0f])
	}
}

// kindName is the lower-case name of a component kind.
func kindName(k component.Kind) string {
	switch k {
	case component.KindReceiver:
		return "receiver"
	case component.KindProcessor:
		return "processor"
	case component.KindExporter:
		return "exporter"
	case component.KindExtension:
		return "extension"
	case component.KindConnector:
		return "connector"
	}
	return "other"
}
