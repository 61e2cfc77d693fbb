// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package log

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// verifyAll runs VerifyDirectory and returns its findings.
func verifyAll(t testing.TB, dir string) ([]Finding, VerifySummary) {
	t.Helper()
	var findings []Finding
	sum, err := VerifyDirectory(context.Background(), dir, VerifyOptions{Report: func(f Finding) { findings = append(findings, f) }})
	require.NoError(t, err)
	return findings, sum
}

func damageOnly(findings []Finding) []Finding {
	var out []Finding
	for _, f := range findings {
		if f.Damage {
			out = append(out, f)
		}
	}
	return out
}

// sealedLog writes shards "vf:v1:shard:0000" and "0001" with several
// sealed segments and a consumer group, and returns the directory.
func sealedLog(t testing.TB) string {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Storage.MaxFileSize = 2048
	cfg.Compression = CompressionConfig{Codec: CodecZstd, MinCompressSize: 64}
	c, err := NewClientWithConfig(dir, cfg)
	require.NoError(t, err)
	for shard := range uint32(2) {
		appendN(t, c, ShardStreamName("vf", "v1", shard), 100, 90, 4)
	}
	cons := NewConsumer(c, ConsumerOptions{Group: "g", Stream: "vf:v1:shard:*"})
	require.NoError(t, cons.AckRange(context.Background(), 0, 0, 30))
	require.NoError(t, cons.AckRange(context.Background(), 1, 0, 99))
	require.NoError(t, c.Close())
	return dir
}

func shardDir(dir string, shard int) string {
	return filepath.Join(dir, "vf", "v1", []string{"shard-0000", "shard-0001"}[shard])
}

func TestVerifyDirectory_IntactLog_NoFindings(t *testing.T) {
	dir := sealedLog(t)
	findings, sum := verifyAll(t, dir)
	require.Empty(t, findings)
	require.EqualValues(t, 2, sum.Shards)
	require.EqualValues(t, 200, sum.Records)
	require.Zero(t, sum.DamagedRecords)
	bases := segmentBases(t, shardDir(dir, 0))
	require.Greater(t, len(bases), 3)
	require.EqualValues(t, len(bases)+len(segmentBases(t, shardDir(dir, 1))), sum.Segments)
	require.EqualValues(t, sum.Segments, sum.Indexes, "every sealed segment has its index, and each active one the checkpoint of its Close")
	require.EqualValues(t, 2, sum.OffsetFiles)
}

func TestVerifyDirectory_FlippedBitInSealedSegment_NamesFileAndOffset(t *testing.T) {
	dir := sealedLog(t)
	bases := segmentBases(t, shardDir(dir, 0))
	seg := filepath.Join(shardDir(dir, 0), segmentFileName(bases[1]))
	offs := recordOffsets(t, seg)
	flipByte(t, seg, offs[2]+headerSize+3)

	findings, sum := verifyAll(t, dir)
	require.Equal(t, []Finding{{File: seg, Offset: offs[2], Entry: bases[1] + 2, Damage: true,
		Reason: findings[0].Reason}}, findings)
	require.Contains(t, findings[0].Reason, "checksum mismatch")
	require.EqualValues(t, 1, sum.DamagedRecords)
	require.EqualValues(t, 1, sum.Damage)
	require.Contains(t, findings[0].String(), seg+": offset "+itoa(offs[2])+" (entry "+itoa(bases[1]+2)+"): checksum mismatch")
}

func TestVerifyDirectory_InvalidHeaderWithUntrustedLength_ResyncsLikeRecovery(t *testing.T) {
	dir := sealedLog(t)
	bases := segmentBases(t, shardDir(dir, 1))
	seg := filepath.Join(shardDir(dir, 1), segmentFileName(bases[0]))
	offs := recordOffsets(t, seg)
	flipByte(t, seg, offs[1]+17) // a reserved byte: the header is invalid
	flipByte(t, seg, offs[1]+2)  // and its length wrong

	findings, _ := verifyAll(t, dir)
	damage := damageOnly(findings)
	require.Len(t, damage, 1, "%v", findings)
	require.Equal(t, seg, damage[0].File)
	require.Equal(t, offs[1], damage[0].Offset)
	require.Contains(t, damage[0].Reason, "invalid header (")
	require.Contains(t, damage[0].Reason, "reserved bytes not zero")
	require.Contains(t, damage[0].Reason, "next intact record starts at offset "+itoa(offs[2]))
}

func TestVerifyDirectory_TornTail_DamageUnlessAWriterIsWriting(t *testing.T) {
	dir := sealedLog(t)
	seg := filepath.Join(shardDir(dir, 1), lastSegment(t, shardDir(dir, 1)))
	info, err := os.Stat(seg)
	require.NoError(t, err)
	torn := make([]byte, headerSize+10)
	binary.LittleEndian.PutUint32(torn, 500) // a header promising more than follows
	appendBytes(t, seg, torn)

	findings, _ := verifyAll(t, dir)
	require.Len(t, findings, 1)
	require.True(t, findings[0].Damage)
	require.Equal(t, seg, findings[0].File)
	require.Equal(t, info.Size(), findings[0].Offset)
	require.EqualValues(t, 100, findings[0].Entry)
	require.Contains(t, findings[0].Reason, "incomplete record")

	if lock, _ := InspectLock(dir); lock.Held == LockUnknown {
		t.Skip("this platform cannot tell whether the lock is held without taking it")
	}
	// A live writer: the incomplete tail is a record being written.
	w := openClient(t, dir, testConfig()) // truncates the torn tail at open
	appendBytes(t, seg, torn)
	findings, _ = verifyAll(t, dir)
	require.Len(t, findings, 1)
	require.False(t, findings[0].Damage, "%v", findings[0])
	require.Contains(t, findings[0].Reason, "writer holding the lock")
	require.NoError(t, w.Close())
}

func TestVerifyDirectory_CorruptIndex_NamesTheField(t *testing.T) {
	dir := sealedLog(t)
	shard := shardDir(dir, 0)
	bases := segmentBases(t, shard)
	pointPos := filepath.Join(shard, indexFileName(bases[0]))
	flipByte(t, pointPos, indexHeaderSize+indexPointSize+8) // second point (entry 8: BoundaryInterval is 8): its byte offset
	crc := filepath.Join(shard, indexFileName(bases[1]))
	info, err := os.Stat(crc)
	require.NoError(t, err)
	flipByte(t, crc, info.Size()-2)
	truncated := filepath.Join(shard, indexFileName(bases[2]))
	require.NoError(t, os.Truncate(truncated, 30))

	findings, _ := verifyAll(t, dir)
	require.Len(t, findings, 3, "%v", findings)
	byFile := map[string]Finding{}
	for _, f := range findings {
		require.True(t, f.Damage)
		byFile[f.File] = f
	}
	require.EqualValues(t, indexHeaderSize+indexPointSize+8, byFile[pointPos].Offset)
	require.Contains(t, byFile[pointPos].Reason, "index point for relative entry 8 says offset")
	require.Equal(t, info.Size()-4, byFile[crc].Offset)
	require.Contains(t, byFile[crc].Reason, "checksum mismatch")
	require.EqualValues(t, 0, byFile[truncated].Offset)
	require.Contains(t, byFile[truncated].Reason, "shorter than the smallest index")
}

func TestVerifyDirectory_SegmentChangedAfterSealing_IndexSizeDisagrees(t *testing.T) {
	dir := sealedLog(t)
	shard := shardDir(dir, 1)
	bases := segmentBases(t, shard)
	seg := filepath.Join(shard, segmentFileName(bases[0]))
	offs := recordOffsets(t, seg)
	require.NoError(t, os.Truncate(seg, offs[len(offs)-1]))

	findings, _ := verifyAll(t, dir)
	damage := damageOnly(findings)
	require.Len(t, damage, 1, "%v", findings)
	require.Equal(t, filepath.Join(shard, indexFileName(bases[0])), damage[0].File)
	require.EqualValues(t, 8, damage[0].Offset)
	require.Contains(t, damage[0].Reason, "describes a segment of")
	require.Len(t, findings, 2, "and the entry now missing before the next segment is noted")
}

func TestVerifyDirectory_OffsetFiles(t *testing.T) {
	dir := sealedLog(t)
	file0 := filepath.Join(shardDir(dir, 0), groupsDirName, groupFileName("g"))
	file1 := filepath.Join(shardDir(dir, 1), groupsDirName, groupFileName("g"))
	base := offsetSlotBase(len("g"))

	flipByte(t, file0, base+offsetSlotSize+9) // one slot: a torn acknowledgement
	findings, _ := verifyAll(t, dir)
	require.Len(t, findings, 1)
	require.False(t, findings[0].Damage)
	require.Equal(t, file0, findings[0].File)
	require.Equal(t, base+offsetSlotSize, findings[0].Offset)

	flipByte(t, file0, base+2) // both slots
	findings, _ = verifyAll(t, dir)
	require.Len(t, damageOnly(findings), 2)
	require.Equal(t, base, findings[0].Offset)
	require.Contains(t, findings[0].Reason, "neither slot is intact")

	flipByte(t, file1, 12) // the group name: header checksum
	findings, _ = verifyAll(t, dir)
	last := findings[len(findings)-1]
	require.Equal(t, Finding{File: file1, Offset: 13, Entry: -1, Damage: true, Reason: last.Reason}, last)
	require.Contains(t, last.Reason, "header checksum mismatch")
}

func TestVerifyDirectory_OffsetPastTheEnd_IsANotice(t *testing.T) {
	dir := sealedLog(t)
	file := filepath.Join(shardDir(dir, 1), groupsDirName, groupFileName("g"))
	require.NoError(t, os.WriteFile(file, encodeOffsetFile("g", 250, 9), 0o600))
	findings, _ := verifyAll(t, dir)
	require.Len(t, findings, 1)
	require.False(t, findings[0].Damage)
	require.EqualValues(t, 100, findings[0].Entry)
	require.Contains(t, findings[0].Reason, "past the end of the shard")
}

func TestVerifyDirectory_StatesRecoveryHandles_AreNotices(t *testing.T) {
	dir := sealedLog(t)
	shard := shardDir(dir, 0)
	bases := segmentBases(t, shard)
	require.NoError(t, os.Remove(filepath.Join(shard, indexFileName(bases[1]))))
	require.NoError(t, os.WriteFile(filepath.Join(shard, indexFileName(9999)), []byte("orphan"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(shard, "log-0000000000000007.index.tmp"), nil, 0o600))
	require.NoError(t, os.Remove(filepath.Join(shard, segmentFileName(bases[0]))))
	require.NoError(t, os.Remove(filepath.Join(shard, indexFileName(bases[0]))))

	findings, sum := verifyAll(t, dir)
	require.Len(t, findings, 3, "%v", findings)
	require.Empty(t, damageOnly(findings))
	require.EqualValues(t, 3, sum.Notices)
}

func TestVerifyDirectory_UndecodableCompressedPayload(t *testing.T) {
	dir := t.TempDir()
	shard := filepath.Join(dir, "zz", "v1", "shard-0000")
	require.NoError(t, os.MkdirAll(shard, 0o700))
	rec := make([]byte, headerSize+16)
	copy(rec[headerSize:], "not a zstd frame")
	putHeader(rec, 1, codecZstdFlag)
	require.NoError(t, os.WriteFile(filepath.Join(shard, segmentFileName(0)), rec, 0o600))
	findings, _ := verifyAll(t, dir)
	require.Len(t, findings, 1)
	require.True(t, findings[0].Damage)
	require.EqualValues(t, 0, findings[0].Offset)
	require.Contains(t, findings[0].Reason, "does not decode")
}

func TestVerifyDirectory_DamagedDirectory_AgreesWithReaders(t *testing.T) {
	dir := damagedDirectory(t)
	findings, sum := verifyAll(t, dir)
	var damagedRecords []Finding
	for _, f := range damageOnly(findings) {
		if strings.HasSuffix(f.File, segmentSuffix) {
			damagedRecords = append(damagedRecords, f)
		}
	}
	require.Len(t, damagedRecords, 2, "the flipped bit and the torn tail: %v", findings)
	require.EqualValues(t, 4, sum.Damage, "and the index and the offset file: %v", findings)

	// Readers skip exactly the damaged entry verify names.
	c := openClient(t, dir, readOnlyConfig())
	var seen []int64
	require.NoError(t, c.ScanRecords(context.Background(), "dd:v1:shard:0000", 0, func(r Record) error {
		seen = append(seen, r.ID.EntryNumber)
		return nil
	}))
	require.Equal(t, damagedRecords[0].Entry, int64(0))
	require.EqualValues(t, 1, seen[0], "entry 0 is the damaged one")
	require.Len(t, seen, 119)
}

func TestInspectLock(t *testing.T) {
	dir := t.TempDir()
	st, err := InspectLock(dir)
	require.NoError(t, err)
	require.Equal(t, LockState{Path: filepath.Join(dir, lockFileName), Held: LockFree}, st)

	c, err := NewClientWithConfig(dir, testConfig())
	require.NoError(t, err)
	st, err = InspectLock(dir)
	require.NoError(t, err)
	require.True(t, st.Exists)
	require.Equal(t, os.Getpid(), st.PID)
	if st.Held == LockUnknown {
		t.Skip("this platform cannot tell whether the lock is held without taking it")
	}
	require.Equal(t, LockTaken, st.Held)
	require.NoError(t, c.Close())
	st, err = InspectLock(dir)
	require.NoError(t, err)
	require.Equal(t, LockFree, st.Held)
	require.Equal(t, os.Getpid(), st.PID, "the last writer's PID stays in the file")
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
