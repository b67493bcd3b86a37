package durable

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileName is the store's file in the data directory; LockName keeps a
// second process out.
const (
	FileName = "herald.db"
	LockName = "LOCK"
)

// formatBucket holds the format record; Herald's own buckets never use
// its name.
const (
	formatBucket = "herald"
	formatKey    = "format"
	formatValue  = "herald-durable/1"
	cleanKey     = "clean" // present while no process has the store open
)

// Policy is when queued writes are committed.
type Policy int

const (
	// PolicySync commits as soon as anything is queued; writes queued
	// while a commit runs go into the next one.
	PolicySync Policy = iota
	// PolicyInterval commits at most once per Options.Interval.
	PolicyInterval
)

func (p Policy) String() string {
	if p == PolicyInterval {
		return "interval"
	}
	return "sync"
}

// Options configure a store; the zero value is PolicySync.
type Options struct {
	Policy   Policy
	Interval time.Duration // PolicyInterval's period; default 5ms
	// CompactRatio: at Open, a file whose free pages exceed this share of
	// it (and which is over 1 MiB) is copy-compacted. Default 0.5;
	// negative: never.
	CompactRatio float64
	// OnCommit, if set, is told each commit's duration and record count
	// (metrics).
	OnCommit func(d time.Duration, records int)
}

// DB is an open store. Its methods are safe for concurrent use.
type DB struct {
	dir  string
	lock *os.File
	bolt *bolt.DB
	opts Options

	committer
	closeOnce sync.Once
	crashed   bool
}

// Open opens (creating if need be) the store in dir. It fails with
// ErrLocked if another process has it open, ErrFormat, ErrTruncated or
// ErrCorrupt if the file cannot be trusted.
func Open(dir string, opts Options) (*DB, error) {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Millisecond
	}
	if opts.CompactRatio == 0 {
		opts.CompactRatio = 0.5
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("durable: data directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	b, err := openFile(path)
	if err == nil && opts.CompactRatio > 0 {
		b, err = maybeCompact(b, path, opts.CompactRatio)
	}
	if err != nil {
		lock.Close()
		return nil, err
	}
	crashed, err := takeClean(b)
	if err != nil {
		b.Close()
		lock.Close()
		return nil, err
	}
	db := &DB{dir: dir, lock: lock, bolt: b, opts: opts, crashed: crashed}
	db.committer.start(b, opts)
	return db, nil
}

// takeClean reports whether the last process to have the store open
// ended without Close (a crash, kill -9), and removes the mark Close
// leaves, so that this process's own end is judged alike.
func takeClean(b *bolt.DB) (crashed bool, err error) {
	err = b.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte(formatBucket))
		crashed = bk.Get([]byte(cleanKey)) == nil
		return bk.Delete([]byte(cleanKey))
	})
	if err != nil {
		return false, fmt.Errorf("durable: %w", err)
	}
	return crashed, nil
}

// Crashed reports whether the process that had the store open before
// ended without closing it: writes queued then but not committed are
// lost (none of them was acknowledged), so a caller may have to assume
// the worst of what they would have said (a message was delivered).
func (db *DB) Crashed() bool { return db.crashed }

// lockDir takes an exclusive lock on dir's lock file, held while the
// process lives (the kernel drops it when the process dies, kill -9
// included).
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("durable: lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("durable: lock %s: %w", dir, err)
	}
	return f, nil
}

// boltOptions are bbolt's defaults with a lock timeout. NoFreelistSync
// would save a quarter of each commit, but its rebuild of the free list
// at open panics, on a goroutine nothing can recover, when a page is
// damaged (ADR 0010): a damaged file must be an error, not a crash.
var boltOptions = &bolt.Options{Timeout: time.Second}

// openFile opens an existing store after checking it, or creates a new
// one atomically (written aside, then renamed), so that a crash during
// creation leaves no half-made file that would later pass for an empty
// store.
func openFile(path string) (*bolt.DB, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := create(path); err != nil {
			return nil, err
		}
		fi, err = os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("durable: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("durable: %w", err)
	}
	if fi.Size() < 2*int64(os.Getpagesize()) {
		return nil, fmt.Errorf("%w: %s is %d bytes", ErrTruncated, path, fi.Size())
	}
	var b *bolt.DB
	err = guard(func() error {
		var err error
		b, err = bolt.Open(path, 0o600, boltOptions)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
		}
		return verify(b, fi.Size())
	})
	if err != nil {
		if b != nil {
			b.Close()
		}
		return nil, err
	}
	return b, nil
}

func create(path string) error {
	tmp := path + ".new"
	os.Remove(tmp)
	b, err := bolt.Open(tmp, 0o600, boltOptions)
	if err != nil {
		return fmt.Errorf("durable: create: %w", err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucket([]byte(formatBucket))
		if err != nil {
			return err
		}
		if err := bk.Put([]byte(cleanKey), frame(formatBucket, []byte(cleanKey), nil)); err != nil {
			return err
		}
		return bk.Put([]byte(formatKey), frame(formatBucket, []byte(formatKey), []byte(formatValue)))
	})
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("durable: create: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// verify checks the file against the database in it: its size, its
// format record, and every record's checksum (which reads every page).
func verify(b *bolt.DB, size int64) error {
	return b.View(func(tx *bolt.Tx) error {
		if need := tx.Size(); need > size {
			return fmt.Errorf("%w: %s holds %d bytes of database in %d", ErrTruncated, b.Path(), need, size)
		}
		fb := tx.Bucket([]byte(formatBucket))
		if fb == nil {
			return fmt.Errorf("%w: %s has no format record", ErrFormat, b.Path())
		}
		v, err := unframe(formatBucket, []byte(formatKey), fb.Get([]byte(formatKey)))
		if err != nil {
			return err
		}
		if string(v) != formatValue {
			return fmt.Errorf("%w: %s is %q, this version reads %q", ErrFormat, b.Path(), v, formatValue)
		}
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			return bk.ForEach(func(k, v []byte) error {
				if v == nil {
					return fmt.Errorf("%w: nested bucket %s/%x", ErrCorrupt, name, k)
				}
				_, err := unframe(string(name), k, v)
				return err
			})
		})
	})
}

// guard runs fn with memory faults (a page beyond the end of a truncated
// file) and bbolt's assertion panics (a damaged page) turned into
// ErrCorrupt.
func guard(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, p)
		}
	}()
	return fn()
}

// Dir is the data directory.
func (db *DB) Dir() string { return db.dir }

// Size is the store file's size in bytes.
func (db *DB) Size() int64 {
	fi, err := os.Stat(db.bolt.Path())
	if err != nil {
		return 0
	}
	return fi.Size()
}

// Close commits what is queued, closes the file and releases the lock.
func (db *DB) Close() error {
	err := ErrClosed
	db.closeOnce.Do(func() {
		err = db.committer.stopAndFlush()
		if err == nil {
			err = db.bolt.Update(func(tx *bolt.Tx) error {
				return tx.Bucket([]byte(formatBucket)).Put([]byte(cleanKey), frame(formatBucket, []byte(cleanKey), nil))
			})
		}
		if cerr := db.bolt.Close(); err == nil {
			err = cerr
		}
		db.lock.Close()
	})
	return err
}
