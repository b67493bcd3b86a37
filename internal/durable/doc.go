// Package durable is Herald's file-backed store: one bbolt file in the
// data directory (--data-dir), written through group commit.
//
// # Writes
//
// Put and Delete queue records and return at once; a committer goroutine
// applies everything queued in one bbolt transaction and one fsync (group
// commit). Barrier tells a writer when what it queued is durable, which
// is when a protocol may acknowledge. Policy decides when commits happen:
// PolicySync commits as soon as something is queued (a commit in progress
// collects the next batch meanwhile), PolicyInterval at most once per
// Interval, trading acknowledgement latency for fewer fsyncs.
//
// # Integrity
//
// A lock file keeps a second process out. The file carries a format
// record; every value carries a CRC-32C of its bucket, key and value, so a
// torn or corrupted record is reported at start-up (ErrCorrupt) instead of
// being loaded. Open checks the file's size against the database's own
// page count (ErrTruncated) and reads every record (which reads every
// page), with memory faults and bbolt's assertion panics turned into
// errors, so a damaged file is an error, never a crash and never an empty
// store. docs/durability.md has the recovery procedure.
package durable
