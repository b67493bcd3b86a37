package durable

import "errors"

// Errors of Open and of the store once open.
var (
	// ErrLocked: another process has the data directory open.
	ErrLocked = errors.New("durable: data directory in use by another process")
	// ErrFormat: the file is not a Herald store, or of a format this
	// version does not read.
	ErrFormat = errors.New("durable: not a Herald store of a known format")
	// ErrTruncated: the file is shorter than the database it holds.
	ErrTruncated = errors.New("durable: store file truncated")
	// ErrCorrupt: a page or a record fails its checks.
	ErrCorrupt = errors.New("durable: store file corrupted")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("durable: store closed")
)
