// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

// Package log is an embedded, segmented, append-only log: sharded streams
// of checksummed records, consumer groups with durable offsets, retention
// that protects unconsumed data, and explicit fsync policies. It knows
// nothing of OpenTelemetry; the comet exporter, receiver and storage
// extension are built on it.
//
// # Vocabulary
//
// A Client owns a data directory. A stream is "namespace:version:shard:NNNN";
// the streams of one namespace and version are its shards, and each is an
// independent log whose entries are numbered from 0. A Consumer reads the
// shards of one namespace for a consumer group, whose offset on each shard
// is the next entry it will read.
//
// # Directory layout
//
//	<dataDir>/comet.lock                             writer lock (holds the writer's PID; shared by multi-process writers)
//	<dataDir>/comet.policy                           the writer's delete_consumed policy, for readers (reclaim.go)
//	<dataDir>/comet.slots/slots                      multi-process writers: the number of writer slots
//	<dataDir>/comet.slots/slot-K.lock                one per writer slot, locked by the process holding it
//	<dataDir>/comet.readers/<ns>.<ver>.g-<32 hex>.lock  a consumer group's presence: every process
//	                                                 with a Consumer of the group on the namespace
//	                                                 holds a shared lock on it (LockGroup)
//	<dataDir>/comet.members/<ns>.<ver>.g-<32 hex>/   a consumer group's members (WithGroupMembership):
//	    m-<16 hex>.lock                              one per live member, locked by it
//	    s-NNNN.lock                                  one per shard, locked by the member reading it
//	<dataDir>/comet.format                           on-disk format version of the directory
//	<dataDir>/<namespace>/<version>/shard-NNNN/      one directory per stream (NNNN: at least 4 digits)
//	    log-<first entry, 16 digits>.comet           segment: records only, nothing else
//	    log-<first entry, 16 digits>.index           sparse index of a sealed segment (or checkpoint of the active one)
//	    log-<first entry, 16 digits>.index.tmp       an index being written; removed at open
//	    groups/g-<32 hex digits>.offset              one consumer group's offset on this shard
//
// Namespace and version are 1 to 64 characters of [A-Za-z0-9_-] starting
// with a letter or digit; they are validated before they become directory
// names, and the shard number is formatted by the package, so no input
// string reaches the filesystem unchecked. Group names (any bytes, any
// length) become file names through SHA-256. Directories are created
// 0700 and files 0600 unless StorageConfig says otherwise.
//
// # What else a directory may hold
//
// Only the names above, exactly as the package writes them, are read
// ("shard-7" or "log-+000000000000001.comet" are not); anything else is
// left alone, and only the package's own leftovers (an index without its
// segment, an index's temporary file) are removed. Symbolic links are
// followed: a namespace, shard or segment may live on another disk. An
// entry with a segment's name that is not a regular file (a directory, a
// FIFO, a dangling link) is skipped and logged. Metadata files (marker,
// indexes, offset files) are read without blocking and only up to the
// size a valid one can have, whatever was put in their place. A stream
// that cannot be opened (an unreadable segment, say) is logged as an
// error and left out: the rest of the log opens, and every operation on
// that stream returns the error. Two segments of a stream that claim the
// same entry numbers are never written by the package: the stream keeps
// the set of segments that holds the most entries (the active segment
// always) and sets the others aside, untouched, unread and logged with
// their file; records carry no stream identity, so a segment copied in
// from another stream past the stream's end is read as its own (the
// numbers in between count as lost). The lock file is the one entry
// whose damage refuses a writer: without it a second writer could not be
// kept out.
//
// # Record format
//
// A segment is a sequence of records, each a 20-byte header and a payload.
// All integers are little-endian.
//
//	offset  size  field
//	0       4     payload length in bytes (uint32; at most 1 GiB)
//	4       4     CRC-32C (Castagnoli) of bytes 8 .. 20+length (header rest and payload)
//	8       8     append time, Unix nanoseconds (int64); one value per Append call
//	16      1     flags: bits 0-1 codec (0 raw, 1 zstd frame); bits 2-7 zero
//	17      1     on-disk format version minus one: 0 (format 1)
//	18      2     reserved, zero
//	20      len   payload: the entry, or its zstd frame when the codec says so
//
// Compression is read from the flags, never guessed from the payload: an
// entry that happens to start with the zstd magic bytes is stored raw and
// read back unchanged. An entry is compressed only when it is at least
// CompressionConfig.MinCompressSize bytes and compression saves 10% or more,
// and, with CompressionConfig.BacklogThreshold, only while the slowest
// consumer group loaded in this process is that far behind on the shard.
// An entry's number is its segment's first entry (from the file name) plus
// its position among the segment's records; records carry no number, so a
// damaged record still occupies its number and the entries after it keep
// theirs.
//
// # Format versions
//
// The format described here is on-disk format 1 (FormatVersion). Every
// directory written before the version was recorded is format 1 too and
// is read unchanged: no migration. A release reads every format up to
// its own and refuses a newer one: NewClient returns a *FormatError
// (errors.Is ErrNewerFormat) naming the file, the version found and the
// version supported, and nothing of the directory is read as damage,
// repaired, truncated or deleted.
//
// The directory's version is in comet.format, written by a writer when
// missing (through a temporary file, fsync, rename and directory fsync):
//
//	0    4   magic "CMFV"
//	4    4   format version (uint32)
//	8    4   reserved, zero
//	12   4   CRC-32C of bytes 0 .. 12
//
// A marker naming a newer version refuses the directory. A damaged or
// unreadable marker is logged and rewritten, never a reason not to open,
// because every file carries its own version too:
//
//   - Byte 17 of every record: the format version minus one (format-1
//     writers always wrote zero there). A record whose version byte is
//     higher and whose checksum holds was written by a newer format; with
//     a checksum that does not hold it is damage like any other.
//   - Byte 4 of index files and of offset files (version 1 here): a
//     higher version whose checksum holds (an index's trailing CRC, an
//     offset file's header CRC) refuses the directory; any other
//     mismatch is damage (an index is rebuilt, a group restarts from the
//     oldest entry).
//
// Compatibility contract for later formats, so that this release can
// tell their data from damage: a record keeps its length at bytes 0-3,
// the CRC-32C of bytes 8 .. 20+length at 4-7 and the version at 17; an
// index file keeps "CMIX" and its version at 0-4 and its CRC-32C of
// everything before in the last 4 bytes; an offset file keeps bytes 0-15
// and its header CRC at 12+N; comet.format keeps this layout. A release
// writes the format its directory's marker names, or upgrades the marker
// first (a writer only): it never writes newer files into a directory
// whose marker names an older format. Directories written by every
// released format are kept under testdata/golden, and every later
// release's tests read them to their exact contents.
//
// # Index format
//
// When a segment is sealed, its sparse index is written beside it (never
// inside it) through a temporary file, fsync and rename:
//
//	0    4   magic "CMIX"
//	4    1   version (1)
//	5    3   reserved, zero
//	8    8   size of the segment it describes, in bytes
//	16   8   number of entries in the segment
//	24   8   smallest record timestamp
//	32   8   largest record timestamp
//	40   8   step: entries between index points
//	48   4   number of points P
//	52   24P points: relative entry number, byte offset, timestamp (int64 each)
//	end  4   CRC-32C of everything before
//
// A point is kept every IndexingConfig.BoundaryInterval entries; when a
// segment would exceed MaxIndexEntries points, every other point is dropped
// and the step doubles. At open an index is used only if its checksum holds,
// it describes exactly the segment's current size, its points are ordered
// and inside the segment, and the record at its last point starts with an
// intact header carrying that point's timestamp and ends inside the
// segment: one read of 20 bytes, so opening a directory costs a few small
// reads per sealed segment, whatever its size. Otherwise (for example
// after a power loss, an index that points past the end, or an index of
// another file) the segment is scanned and the index rewritten. Damage
// inside an indexed segment is found by readers, which step over it (the
// index's count anchors the numbering) and count it.
//
// The same file, written at Close for each shard's active segment, is its
// checkpoint: at the next open the records it describes (a prefix of the
// segment; the size check becomes "at most the segment's size") are not
// scanned, only what follows. Sealing the segment replaces it with the
// full index; a writer removes a checkpoint that no longer describes its
// segment.
//
// # Offset file format
//
//	0      4   magic "CMOF"
//	4      1   version (1)
//	5      3   reserved, zero
//	8      4   length N of the group name
//	12     N   group name
//	12+N   4   CRC-32C of bytes 0 .. 12+N
//	B      20  slot 0: sequence (uint64), offset (int64), CRC-32C of the 16 bytes before
//	B+32   20  slot 1: the same
//
// where B is 16+N rounded up to a multiple of 64. The valid slot with the
// higher sequence holds the offset. An acknowledgement overwrites the older
// slot with one small write, so a torn write leaves the previous offset:
// at worst entries are delivered again, never skipped.
//
// # When files are created, synced and removed
//
//   - A shard's first segment is created with the shard, on its first
//     Append. A new segment is created when the active one would exceed
//     StorageConfig.MaxFileSize (a single larger batch gets a segment of its
//     own). Under interval and always, rotation fsyncs the finished
//     segment, then (in the background) writes its index with an fsync and
//     fsyncs the directory; a new segment's directory entry is fsynced
//     before any SyncAlways append in it returns. Under none nothing is
//     fsynced: the OS writes segments and indexes back in its own time.
//   - Each Append is one write(2) of all its records, under the shard lock,
//     which covers only entry numbering and that write; encoding and
//     compression happen before it. A failed or short write is undone by
//     truncating the segment back, so the next append follows the last
//     complete record.
//   - At open, the active segment of each shard is scanned from the end of
//     its checkpoint (written at Close; after a crash, the last clean
//     Close's, or none: then from its start). A torn tail is truncated to
//     the last record whose checksum holds; a damaged record followed by
//     intact records (a flipped bit) is kept in place and skipped by
//     readers. Both are logged with file and offset and counted
//     (CometStats.Truncations, CorruptEntries). Sealed segments with a
//     valid index are not read beyond one header each. The log always
//     opens, unless its directory cannot be used, its lock cannot be
//     taken, or it holds data of a newer format (see Format versions).
//   - Offset files are created (temporary file, fsync, rename, directory
//     fsync) on a group's first Read, Ack, ResetOffset, SeekToTime or
//     Register on a shard, and removed by DeleteConsumerGroup. Acknowledgements are plain writes, fsynced every
//     StorageConfig.CheckpointTime, on Sync and Close, and before retention
//     deletes a segment because of them.
//   - Retention removes whole sealed segments, oldest first: the segment
//     file, then its index. The removal is not fsynced: if a power cut
//     undoes it, the segment comes back behind every group's offset and
//     the next cleanup removes it again. Index files without a segment
//     and index temporary files are removed at open.
//   - Close writes each active segment's checkpoint (an index file, with
//     an fsync), after everything appended was made durable; a shard whose
//     fsync failed gets none. A writer creates comet.format when missing.
//
// # Durability
//
// Appended entries are visible to consumers in the same process when Append
// returns, and to consumers in other processes within their poll interval.
// What survives a crash depends on DurabilityConfig.Mode:
//
//	mode      process crash (kill -9)         power loss / kernel crash
//	none      nothing acknowledged is lost    entries not yet written back by the OS (typically up to 30 s)
//	interval  nothing acknowledged is lost    at most Interval of appends, or MaxPendingEntries per shard
//	always    nothing acknowledged is lost    nothing acknowledged is lost (Append returned after fsync)
//
// Under always, concurrent appends share one fsync (group commit). After
// any crash the log reopens to a prefix of what was appended per shard:
// never garbage, never a gap before the last acknowledged entry. If an
// fsync fails, the shard reports the error to every later append that
// needs an fsync until the log is reopened, because the kernel may have
// dropped the unsynced data.
//
// # Consumers
//
// Read returns entries from the group's offsets and never moves them; Ack
// moves an offset cumulatively. Delivery is at least once. A group starts
// on a shard at the oldest entry (StartEarliest) or at the end
// (StartLatest). Offsets are clamped to the recovered end after a crash,
// and a group whose offset points into deleted data resumes at the oldest
// entry still on disk, with the gap counted (CometStats.LostEntries).
// Reads are sequential: a consumer keeps its byte position between reads,
// so the cost per entry does not depend on the position in the log. It
// holds a segment's file only while reading, so a segment retention
// deletes while its consumer waits frees its space at once.
//
// # Retention and full policy
//
// Ages (MaxAge, ForceDeleteAfter, idle segments) are measured on the
// monotonic clock while the log is open, so a wall clock that jumps
// (NTP setting a board without a battery-backed clock, an operator's
// correction) neither makes fresh data old nor old data young. At open a
// segment's age is read once from the wall clock and its newest record's
// time; a time in the future counts as now, and so does one before 2025,
// which only a wall clock that was never set produces.
//
// Retention deletes whole sealed segments by age (MaxAge), by size
// (MaxShardSize, MaxTotalSize), and, with DeleteConsumed, once every group
// has acknowledged them. ProtectUnconsumed keeps a segment some group has
// not fully acknowledged (a shard no group has read is unconsumed), unless
// it is older than ForceDeleteAfter. When an append would exceed a budget
// and retention cannot free space, WhenFull decides: block (wait, bounded
// by the context), reject (ErrFull) or drop_oldest (delete the oldest
// segment anyway, counting per group what it had not acknowledged).
//
// A full filesystem is not a budget: an append that finds no space fails
// with ErrNoSpace (wrapping the system's error), after truncating what the
// write may have left, so nothing of the batch is visible and the log
// stays intact. Nothing else stops: acknowledgements overwrite offset
// slots in place and need no space (an offset file that cannot be created
// holds in memory, is retried at every acknowledgement and checkpoint, and
// is said once per client; Close succeeds without it, and its group
// receives those entries again after a restart), reads need none, and
// retention keeps deleting consumed segments, sealing idle consumed active
// ones first; a failed append starts a retention run at once. Appends
// succeed again once consumers catch up or space is freed. Index files
// that cannot be written are rebuilt at the next open.
//
// # Processes
//
// One process writes a directory; NewClient takes comet.lock with an OS
// lock that the kernel releases if the process dies, and a second writer
// gets ErrLocked naming the holder's PID (after waiting up to 2 s for one
// that is stopping). With ConcurrencyConfig.EnableMultiProcessMode,
// several writers share it: each holds a writer slot and appends to its
// slot's shards only, reading the others' (slots.go). Consumers in other processes open
// the directory with ConcurrencyConfig.ReadOnly. The Processes of one
// group that use WithGroupMembership, in any process, split the shards:
// each shard is read by one member at a time, and a member that stops or
// dies hands its shards to the others within about a second (see
// membership.go).
//
// # Locks
//
// In-process locks, outermost first; a goroutine holding one takes only
// locks below it:
//
//	Client.space.mu       one retention run at a time (runRetention, dropOldest)
//	Client.mu (RW)        the shard map; held only to look up or add a shard
//	shard.mu              appends, rotation, sealing, a reader's refresh, close
//	shard.dur.syncMu      the writer handle against fsync (rotate, syncWriter, close)
//	shard.segMu (RW)      the segment list (rotate, refresh and removeSegment change it)
//	sparseIndex.mu (RW)   a segment's sparse index points
//	shard.dur.mu          what is durable, and group commit's waiters (cond)
//
//	Consumer.mu           the consumer's cursors (Close holds it over each cursor.mu)
//	cursor.mu             one shard's read position; readShard holds it over
//	groupOffset.mu        one group's offset file (advance, persist, sync, reload)
//	segment.fmu           a segment's open file handle
//	fileCache.mu          the descriptor cache
//
// groupTable.mu guards a shard's map of groups and is released before any
// groupOffset.mu is taken. Leaves, under which nothing is taken:
// consumersMu, notifyMu and each notifier's mu, presences.mu. Functions
// whose doc says "the caller holds" expect that lock held: persist and
// writeSlot hold groupOffset.mu, syncSealed holds shard.dur.syncMu,
// failLocked holds shard.dur.mu, segment.closeLocked holds segment.fmu,
// and shard.write, rotate and sealActive run under shard.mu.
//
// Between processes, every lock is a file lock the kernel releases when
// its holder dies, taken without waiting or with a bounded wait, never
// while holding an in-process lock above segment.fmu: comet.lock (the
// writer, or a reader reclaiming consumed segments: reclaim.go), a
// group's presence (presence.go), and its members and shard claims
// (membership.go).
//
// Tools inspect a directory without changing a byte of it, whether or not
// a writer runs: a ReadOnly client's Streams, Segments, Len, Scan,
// ScanRecords and GroupPositions open files for reading only (a ReadOnly
// Consumer does write: its group's offset files); InspectLock tells
// whether the writer lock is held without taking it; VerifyDirectory
// reads every record, index and offset file without a Client.
package log // import "github.com/comet-otel/comet/internal/log"
