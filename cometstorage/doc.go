// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate go tool mdatagen metadata.yaml

// Package cometstorage is the comet_storage extension: a storage.Extension
// whose clients are log-structured key-value stores on the Comet engine
// (internal/log), built for exporterhelper's persistent queue and usable
// by any component that keeps state through storage.Client.
//
// # Layout
//
// Each client (one per GetClient kind, component ID and storage name) has
// a directory of its own under the configured directory, named by
// clientDirName (escaped parts joined by '~', or a SHA-256 when long),
// holding one engine log, stream kv:v1:shard:0000:
//
//	<directory>/<client>/comet.lock                        engine writer lock (PID)
//	<directory>/<client>/comet.format                      engine on-disk format version
//	<directory>/<client>/keydir.snapshot                   key directory snapshot (Close, every 64 MiB)
//	<directory>/<client>/kv/v1/shard-0000/log-<16 digits>.comet   segments
//	<directory>/<client>/kv/v1/shard-0000/log-<16 digits>.index   sparse index of a sealed segment
//	<directory>/<client>.reserve                           disk-full reserve (segment_size/2 zero bytes)
//
// The engine frames every record (length, CRC-32C, timestamp; see
// internal/log) and names segments by their first entry number.
//
// # Record format
//
// Every Batch that changes something appends exactly one engine record,
// whose payload lists the batch's writes: for each key the batch wrote,
// its last write. Integers are minimally encoded unsigned varints
// (encoding/binary); any other encoding is rejected.
//
//	byte    format version, 1
//	byte    record kind, 1 (operation list)
//	uvarint number of operations n, at least 1
//	n times:
//	  byte     1 = set, 2 = delete
//	  uvarint  key length (1 .. MaxKeySize), key bytes
//	  set:     uvarint value length, value bytes
//
// A record of a higher format version (the engine's checksum holds, so
// the byte is what its writer wrote) comes from a newer release: the
// client refuses to open, naming the directory, the record and both
// versions (the error matches log.ErrNewerFormat), and skips nothing.
// Version 0 or any other malformed payload is damage (see Recovery).
//
// Engine records are all or nothing (checksum), so a batch is atomic: a
// crash at any point leaves all of its writes or none. Deletes of keys
// that do not exist are not written. Records are stored uncompressed.
//
// # Key directory
//
// In memory, a map from each key to its newest record (segment, offset
// and size of the record, offset and length of the value in it: 32 bytes
// plus the key), never the value: Get reads the record through the
// engine (Client.ReadAt: one pread through a descriptor the engine keeps
// open, and a check of the record's checksum; a damaged record is a
// *log.CorruptionError, never data).
// Per segment the client counts the bytes written and the bytes still
// referenced, which drive reclamation.
//
// # Tombstones
//
// A delete is a record too, and it must stay on disk as long as an older
// record of its key does, or a restart would bring the key back. The key
// directory keeps a tombstone entry for a deleted key with the oldest
// segment that may still hold a record of the key; the tombstone is needed
// while any segment from that one up to (not including) its own exists.
// Once those are deleted it is dropped. A key written and deleted within
// one segment needs no tombstone entry at all (the common queue case).
//
// # Reclamation
//
// In the background, every compaction::check_interval: a sealed segment
// that no entry references is deleted whole; a sealed segment whose
// superseded share reaches compaction::ratio has its live records (values
// and needed tombstones) copied to the active segment, one record per lock
// hold and only if the key still points at the old record, and is then
// deleted. Before any deletion the log is fsynced, so what superseded the
// deleted records survives a power loss. A mostly dead active segment is
// sealed once it is a quarter full, or when the client is idle, so a
// drained queue returns to its live data.
//
// # Full disk
//
// The reserve file is written when a client opens (kept from the previous
// run if whole) and deleted by the first batch that finds the disk full,
// which is then written on its space; the reserve is taken back by a
// reclamation round once there is room. While it is given up, batches
// that add keys may use a quarter of it and then fail with
// storage.ErrStorageFull, reads and deletes go on, compaction copies only
// segments that are at least 90% garbage, and reclamation runs every
// eighth of the reserve spent; see reserve.go. The reserve is not counted
// in max_size.
//
// # Recovery
//
// At open the client loads the latest key directory snapshot (see Key
// directory snapshot) and reads the records after
// the log position it covers, applying them in log order; without a
// usable snapshot it reads every record of the log. The engine truncates
// a torn tail and steps over damaged records, including one whose length
// field is damaged (it resynchronises to the next intact record and
// counts the damaged bytes as one entry): only the batches the damaged
// records held are lost, logged with counts and counted in
// otelcol_comet_storage_damaged_records. A record the snapshot covers is
// not read at open: when a value is read from it and it turns out
// damaged, its keys take the values they had before it (found by reading
// the log up to it), exactly as a full read would have left them, and
// the damage is counted and logged once. The store always opens.
//
// # Key directory snapshot
//
// Close, and the maintenance round once 64 MiB of records (and four times
// the previous snapshot's size) were appended since the last snapshot,
// captures the key directory under the client's lock, fsyncs the log,
// then writes keydir.snapshot through a temporary file, fsync, rename
// and directory fsync. After a crash the open thus reads at most about
// 64 MiB of records. Little-endian:
//
//	0    4     magic "CKDS"
//	4    1     version (1)
//	5    3     reserved, zero
//	8    8     next entry N: the snapshot holds the effect of every record before it
//	16   8     segment (first entry number) of the last record before N
//	24   8     byte offset of that record in its segment
//	32   8     size of that record on disk
//	40   4     CRC-32C of that record's payload
//	44   4     number of segments S
//	48   8     number of keys K
//	56   56·S  segments, ascending: first entry, end entry, bytes, operation
//	           bytes, live bytes, live sets, live tombstones (int64 each)
//	...  K ×   key length (uint32), key, segment, oldest segment (int64
//	           each), record offset, record size, value offset, value
//	           length (uint32 each; value length 0xFFFFFFFF: tombstone)
//	end  4     CRC-32C of everything before
//
// At open it is used only if its checksum holds, it is version 1, the log
// reaches entry N, every segment it lists that still exists is unchanged
// (the one that was active may only have grown), no segment it does not
// list holds entries before N, and its last record is in the log with the
// same payload checksum (unless compaction has deleted that record's
// segment since). Segments deleted since are fine: compaction deletes a
// segment only once no key points into it, so the records after N
// re-point every key that mattered, and a key still pointing into a
// deleted segment was last written by a record that is gone too (a full
// read finds none) and is forgotten. Anything else is logged and the
// whole log read; the snapshot is a cache, the log the authority.
//
// # Durability
//
// Under sync mode none nothing is fsynced while writing, not even when a
// segment is sealed; under interval the engine fsyncs in the background
// and when it seals a segment. Under always a Batch that wrote returns
// after an fsync covering its record; the fsync happens after the
// client's lock is released, so concurrent batches share one. A
// concurrent Get may therefore see a write whose fsync is in progress.
// In every mode, the fsync before a deletion and the one at Close cover
// every segment sealed since the previous fsync as well as the active one.
package cometstorage // import "github.com/comet-otel/comet/cometstorage"
