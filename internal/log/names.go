// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log // import "github.com/comet-otel/comet/internal/log"

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// A stream is "namespace:version:shard:NNNN". Each part is validated before
// it becomes a directory name, so no input string reaches the filesystem
// unchecked: namespace and version are 1 to 64 characters of [A-Za-z0-9_-]
// starting with a letter or digit, the shard is a decimal uint32.
const (
	maxNamePart   = 64
	shardWildcard = "*"
	shardKeyword  = "shard"
)

// streamKey identifies one shard of one namespace.
type streamKey struct {
	ns, ver string
	shard   uint32
}

// name is the canonical stream name, with the shard as at least 4 digits.
func (k streamKey) name() string { return ShardStreamName(k.ns, k.ver, k.shard) }

// dir is the shard's directory relative to the data directory.
func (k streamKey) dir() string {
	return filepath.Join(k.ns, k.ver, fmt.Sprintf("shard-%04d", k.shard))
}

// namespaceKey identifies a namespace and version: the unit a consumer binds to.
type namespaceKey struct{ ns, ver string }

// parseStream validates "ns:ver:shard:NNNN".
func parseStream(stream string) (streamKey, error) {
	ns, ver, shard, err := splitStream(stream)
	if err != nil {
		return streamKey{}, err
	}
	id, err := parseShardID(shard)
	if err != nil {
		return streamKey{}, fmt.Errorf("%w %q: %v", ErrInvalidStream, stream, err)
	}
	return streamKey{ns: ns, ver: ver, shard: id}, nil
}

// parsePattern validates a consumer's stream: "ns:ver:shard:*" for every
// shard of a namespace, or one stream. It returns the namespace and, for a
// single stream, its shard.
func parsePattern(pattern string) (nk namespaceKey, single *uint32, err error) {
	ns, ver, shard, err := splitStream(pattern)
	if err != nil {
		return namespaceKey{}, nil, err
	}
	nk = namespaceKey{ns: ns, ver: ver}
	if shard == shardWildcard {
		return nk, nil, nil
	}
	id, err := parseShardID(shard)
	if err != nil {
		return namespaceKey{}, nil, fmt.Errorf("%w %q: %v", ErrInvalidStream, pattern, err)
	}
	return nk, &id, nil
}

func splitStream(s string) (ns, ver, shard string, err error) {
	parts := strings.Split(s, ":")
	if len(parts) != 4 || parts[2] != shardKeyword {
		return "", "", "", fmt.Errorf("%w %q: want namespace:version:shard:NNNN", ErrInvalidStream, s)
	}
	if err := validateNamePart(parts[0]); err != nil {
		return "", "", "", fmt.Errorf("%w %q: namespace %v", ErrInvalidStream, s, err)
	}
	if err := validateNamePart(parts[1]); err != nil {
		return "", "", "", fmt.Errorf("%w %q: version %v", ErrInvalidStream, s, err)
	}
	return parts[0], parts[1], parts[3], nil
}

func validateNamePart(p string) error {
	if p == "" || len(p) > maxNamePart {
		return fmt.Errorf("must be 1 to %d characters", maxNamePart)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '-') {
			return fmt.Errorf("has %q at position %d (allowed: letters, digits, '_' and '-', starting with a letter or digit)", c, i)
		}
	}
	return nil
}

func parseShardID(s string) (uint32, error) {
	if s == "" || len(s) > 10 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("shard %q is not a decimal number", s)
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("shard %q is out of range", s)
	}
	return uint32(v), nil
}

// parseShardDir reads the shard number back from a "shard-NNNN" directory
// name. Only the name streamKey.dir writes is accepted ("shard-0007", not
// "shard-7" or "shard-00007"), so that two directories never stand for
// one shard.
func parseShardDir(name string) (uint32, bool) {
	digits, ok := strings.CutPrefix(name, "shard-")
	if !ok {
		return 0, false
	}
	id, err := parseShardID(digits)
	return id, err == nil && fmt.Sprintf("%04d", id) == digits
}

// PickShard maps a key to one of shardCount shards with FNV-1a, so equal
// keys always land in the same shard. shardCount 0 is treated as 1.
func PickShard(key string, shardCount uint32) uint32 {
	if shardCount <= 1 {
		return 0
	}
	const offset32, prime32 = 2166136261, 16777619
	h := uint32(offset32)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= prime32
	}
	return h % shardCount
}

// PickShardStream is ShardStreamName of PickShard(key, shardCount).
func PickShardStream(key, namespace, version string, shardCount uint32) string {
	return ShardStreamName(namespace, version, PickShard(key, shardCount))
}

// ShardStreamName returns "namespace:version:shard:NNNN" (at least four digits).
func ShardStreamName(namespace, version string, shardID uint32) string {
	return fmt.Sprintf("%s:%s:%s:%04d", namespace, version, shardKeyword, shardID)
}

// AllShardsRange returns the shard IDs 0 to shardCount-1.
func AllShardsRange(shardCount uint32) []uint32 {
	ids := make([]uint32, shardCount)
	for i := range ids {
		ids[i] = uint32(i)
	}
	return ids
}

// AllShardStreams returns the stream names of shards 0 to shardCount-1.
func AllShardStreams(namespace, version string, shardCount uint32) []string {
	names := make([]string, shardCount)
	for i := range names {
		names[i] = ShardStreamName(namespace, version, uint32(i))
	}
	return names
}
