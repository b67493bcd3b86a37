package store

// KV is a durable key-value log: what the file-backed stores write
// through. Writes are queued (they never block) and made durable in
// batches, many writers' records per commit (group commit); Barrier tells
// a writer when everything it queued is durable, so a protocol
// acknowledges only what is stored.
//
// The state a protocol serves from stays in memory; a KV is read only
// when the server starts (Scan), to load it back.
//
// A KV may also have a method Queued() uint64 counting the writes queued
// so far (internal/durable's does): a caller that sees the count
// unchanged across an operation acknowledges it without a Barrier.
type KV interface {
	// Put queues bucket/key = val. The KV keeps key and val: callers
	// must not modify them afterwards.
	Put(bucket string, key, val []byte)
	// Delete queues the removal of bucket/key.
	Delete(bucket string, key []byte)
	// Atomic returns a release function; writes queued by the caller
	// until it calls release go into one commit (all or none are
	// durable after a crash). It is not reentrant.
	Atomic() (release func())
	// Barrier calls done once every write queued before it is durable,
	// or failed (err != nil). done runs on the KV's goroutine, or at once
	// on the caller's: it must be quick and must not call Barrier.
	Barrier(done func(err error))
	// Scan calls fn for each record of bucket, in key order. It reads what
	// is committed; it is for loading at start-up.
	Scan(bucket string, fn func(key, val []byte) error) error
}
