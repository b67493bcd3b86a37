package durable

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, dir string, o Options) *DB {
	t.Helper()
	db, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func scanAll(t *testing.T, db *DB, bucket string) map[string]string {
	t.Helper()
	got := map[string]string{}
	if err := db.Scan(bucket, func(k, v []byte) error {
		got[string(k)] = string(v)
		return nil
	}); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return got
}

// Many writers' records, each released by its own barrier, are in the
// file when the barrier fires, whichever policy batched them, and after
// a reopen.
func TestGroupCommitConcurrent(t *testing.T) {
	for _, p := range []Policy{PolicySync, PolicyInterval} {
		t.Run(p.String(), func(t *testing.T) {
			dir := t.TempDir()
			db := open(t, dir, Options{Policy: p, Interval: time.Millisecond})
			const writers, each = 8, 40
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						k := fmt.Appendf(nil, "w%02d-%03d", w, i)
						db.Put("b", k, k)
						if err := db.Wait(); err != nil {
							t.Errorf("Wait: %v", err)
							return
						}
						found := false
						db.Scan("b", func(key, _ []byte) error {
							found = found || bytes.Equal(key, k)
							return nil
						})
						if !found {
							t.Errorf("%s not in the file after its barrier", k)
						}
					}
				})
			}
			wg.Wait()
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = open(t, dir, Options{})
			defer db.Close()
			if got := len(scanAll(t, db, "b")); got != writers*each {
				t.Fatalf("after reopen %d records, want %d", got, writers*each)
			}
		})
	}
}

// Writes queued by many goroutines while a commit cannot start go into
// one commit: one transaction, one fsync.
func TestGroupCommitBatches(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	db := open(t, t.TempDir(), Options{OnCommit: func(_ time.Duration, n int) {
		mu.Lock()
		sizes = append(sizes, n)
		mu.Unlock()
	}})
	defer db.Close()
	release := db.Atomic()
	var wg sync.WaitGroup
	done := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			db.Put("b", fmt.Appendf(nil, "%03d", i), []byte("v"))
			db.Barrier(func(err error) { done <- err })
		})
	}
	wg.Wait()
	release()
	for range 100 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 1 || sizes[0] != 100 {
		t.Fatalf("commits of %v records, want one of 100", sizes)
	}
}

func TestDeleteAndOverwrite(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, Options{})
	db.Put("b", []byte("a"), []byte("1"))
	db.Put("b", []byte("b"), []byte("2"))
	db.Put("b", []byte("a"), []byte("3"))
	db.Delete("b", []byte("b"))
	db.Delete("b", []byte("none"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(t, dir, Options{})
	defer db.Close()
	if got := fmt.Sprint(scanAll(t, db, "b")); got != "map[a:3]" {
		t.Fatalf("got %s", got)
	}
	if got := scanAll(t, db, "missing"); len(got) != 0 {
		t.Fatalf("missing bucket: %v", got)
	}
}

func TestBarrierAfterClose(t *testing.T) {
	db := open(t, t.TempDir(), Options{})
	db.Close()
	db.Put("b", []byte("k"), []byte("v"))
	if err := db.Wait(); err != nil {
		t.Fatalf("nothing queued after close: Wait = %v, want nil", err)
	}
	if err := db.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, Options{})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	db.Close()
	db = open(t, dir, Options{})
	db.Close()
}

// filled returns a closed store's directory holding n records in "b".
func filled(t *testing.T, n int) string {
	dir := t.TempDir()
	db := open(t, dir, Options{})
	for i := range n {
		db.Put("b", fmt.Appendf(nil, "key-%05d", i), bytes.Repeat([]byte{byte(i)}, 200))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestTruncated(t *testing.T) {
	dir := filled(t, 2000)
	path := filepath.Join(dir, FileName)
	db := open(t, dir, Options{})
	var used int64 // the database's high-water mark: the file may be longer
	db.bolt.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	db.Close()
	for _, size := range []int64{0, 100, 4096, used / 2, used - 4096} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			d := t.TempDir()
			b, _ := os.ReadFile(path)
			os.WriteFile(filepath.Join(d, FileName), b[:size], 0o600)
			db, err := Open(d, Options{})
			if err == nil {
				db.Close()
				t.Fatal("Open of a truncated file succeeded")
			}
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrTruncated or ErrCorrupt", err)
			}
			// The damaged file is left as it was, for recovery.
			if fi, _ := os.Stat(filepath.Join(d, FileName)); fi.Size() != size {
				t.Fatalf("file is now %d bytes, was %d", fi.Size(), size)
			}
		})
	}
}

// A flipped byte inside a record is caught by its checksum.
func TestCorruptRecord(t *testing.T) {
	dir := filled(t, 50)
	path := filepath.Join(dir, FileName)
	b, _ := os.ReadFile(path)
	// Every copy: bbolt's free pages may hold older ones.
	pat := bytes.Repeat([]byte{7}, 200)
	n := 0
	for i := bytes.Index(b, pat); i >= 0; i = bytes.Index(b, pat) {
		b[i+100] ^= 0xff
		n++
	}
	if n == 0 {
		t.Fatal("record not found in the file")
	}
	os.WriteFile(path, b, 0o600)
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
}

func TestNotAStore(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FileName), bytes.Repeat([]byte("not bolt"), 2048), 0o600)
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
}

func TestCompactOnOpen(t *testing.T) {
	dir := filled(t, 20000)
	db := open(t, dir, Options{})
	for i := range 20000 {
		db.Delete("b", fmt.Appendf(nil, "key-%05d", i))
	}
	db.Put("b", []byte("kept"), []byte("v"))
	db.Close()
	before := fileSize(filepath.Join(dir, FileName))
	db = open(t, dir, Options{})
	defer db.Close()
	after := db.Size()
	if after*2 > before {
		t.Fatalf("file %d bytes before compaction, %d after", before, after)
	}
	if got := fmt.Sprint(scanAll(t, db, "b")); got != "map[kept:v]" {
		t.Fatalf("after compaction: %s", got)
	}
}

// Crashed tells a store closed from one left open (the process died).
func TestCrashed(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, Options{})
	if db.Crashed() {
		t.Fatal("a new store reports a crash")
	}
	db.Close()
	db = open(t, dir, Options{})
	if db.Crashed() {
		t.Fatal("a cleanly closed store reports a crash")
	}
	// The process dies: the store is never closed (its lock is released
	// by the kernel; here by hand).
	db.committer.stopAndFlush()
	db.bolt.Close()
	db.lock.Close()
	db = open(t, dir, Options{})
	defer db.Close()
	if !db.Crashed() {
		t.Fatal("a store left open does not report a crash")
	}
}
