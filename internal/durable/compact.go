package durable

import (
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// compactMin is the file size below which compaction is not worth it.
const compactMin = 1 << 20

// maybeCompact copy-compacts the file when its free pages exceed ratio of
// it: bbolt reuses free pages but never shrinks the file. The copy is
// written aside, synced and renamed over the original, so a crash leaves
// one whole file or the other.
func maybeCompact(b *bolt.DB, path string, ratio float64) (*bolt.DB, error) {
	size := fileSize(path)
	var free int
	if err := b.View(func(tx *bolt.Tx) error {
		free = b.Stats().FreePageN + b.Stats().PendingPageN
		return nil
	}); err != nil {
		return b, nil
	}
	if size < compactMin || float64(free*os.Getpagesize()) < ratio*float64(size) {
		return b, nil
	}
	return compact(b, path)
}

// compact rewrites the file without its free pages and returns the
// reopened store.
func compact(b *bolt.DB, path string) (*bolt.DB, error) {
	tmp := path + ".compact"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, boltOptions)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("durable: compact: %w", err)
	}
	err = bolt.Compact(dst, b, 16<<20)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	b.Close()
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("durable: compact: %w", err)
	}
	return bolt.Open(path, 0o600, boltOptions)
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
