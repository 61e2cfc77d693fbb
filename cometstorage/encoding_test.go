// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometstorage

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/comet-otel/comet/internal/log"
)

func TestEncodeRecord_RoundTrip(t *testing.T) {
	ws := []write{
		{key: "qmv0", value: []byte("meta")},
		{key: "12", value: bytes.Repeat([]byte{0xAB}, 300)},
		{key: "gone", del: true},
		{key: "empty", value: []byte{}},
		{key: strings.Repeat("k", MaxKeySize), value: []byte("long key")},
	}
	payload := encodeRecord([]byte("prefix"), ws)[len("prefix"):]
	require.Len(t, payload, encodedSize(ws))
	ops, err := parseRecord(payload, nil)
	require.NoError(t, err)
	require.Len(t, ops, len(ws))
	for i, op := range ops {
		require.Equal(t, ws[i].key, string(op.key))
		require.Equal(t, ws[i].del, op.del)
		if !op.del {
			require.Equal(t, ws[i].voff, op.voff, "value offset of op %d", i)
			require.Equal(t, ws[i].value, payload[op.voff:op.voff+op.vlen])
		}
	}
}

func TestParseRecord_RejectsMalformed(t *testing.T) {
	good := encodeRecord(nil, []write{{key: "k", value: []byte("value")}, {key: "d", del: true}})
	cases := map[string][]byte{
		"empty":           {},
		"version zero":    append([]byte{0}, good[1:]...),
		"unknown kind":    append([]byte{1, 9}, good[2:]...),
		"zero operations": {1, 1, 0},
		"truncated":       good[:len(good)-1],
		"trailing bytes":  append(append([]byte{}, good...), 0),
		"unknown op":      {1, 1, 1, 7, 1, 'k'},
		"empty key":       {1, 1, 1, opDelete, 0},
		"key past end":    {1, 1, 1, opDelete, 5, 'k'},
		"value past end":  {1, 1, 1, opSet, 1, 'k', 9, 'v'},
		"bad varint":      {1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"long varint":     {1, 1, 0x81, 0x00, opDelete, 1, 'k'},
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			ops, err := parseRecord(payload, nil)
			require.ErrorIs(t, err, errBadRecord)
			require.Empty(t, ops)
		})
	}
}

// TestParseRecord_NewerVersionIsNotDamage: a version above this release's
// is a newer writer's record, reported as such (log.ErrNewerFormat), not
// as a malformed one.
func TestParseRecord_NewerVersionIsNotDamage(t *testing.T) {
	good := encodeRecord(nil, []write{{key: "k", value: []byte("value")}})
	for _, v := range []byte{formatVersion + 1, 9, 255} {
		_, err := parseRecord(append([]byte{v}, good[1:]...), nil)
		require.ErrorIs(t, err, log.ErrNewerFormat)
		require.NotErrorIs(t, err, errBadRecord)
		require.ErrorContains(t, err, fmt.Sprintf("payload format version %d", v))
	}
}

// FuzzParseRecord: the decoder never panics, and what it accepts encodes
// back to the same bytes.
func FuzzParseRecord(f *testing.F) {
	f.Add(encodeRecord(nil, []write{{key: "qmv0", value: []byte("m")}, {key: "1", value: []byte("item")}}))
	f.Add(encodeRecord(nil, []write{{key: "1", del: true}}))
	f.Add([]byte{1, 1, 1, opSet, 1, 'k', 0})
	f.Fuzz(func(t *testing.T, payload []byte) {
		ops, err := parseRecord(payload, nil)
		if err != nil {
			return
		}
		ws := make([]write, len(ops))
		for i, op := range ops {
			ws[i] = write{key: string(op.key), del: op.del}
			if !op.del {
				ws[i].value = payload[op.voff : op.voff+op.vlen]
			}
		}
		if again := encodeRecord(nil, ws); !bytes.Equal(again, payload) {
			t.Fatalf("re-encoding differs:\n%x\n%x", payload, again)
		}
	})
}
