package durable

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkFsync is the floor: one 256-byte append and fdatasync.
func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "f"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := make([]byte, 256)
	for b.Loop() {
		f.Write(rec)
		f.Sync()
	}
}

// BenchmarkWriteSync: one writer, each 256-byte record waits for its own
// commit (the cost of a durable acknowledgement with no one to share it).
func BenchmarkWriteSync(b *testing.B) {
	db, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rec := make([]byte, 256)
	i := 0
	for b.Loop() {
		i++
		db.Put("b", fmt.Appendf(nil, "%016d", i), rec)
		db.Wait()
	}
}

// BenchmarkGroupCommit: N writers at once, each waiting for its own
// record; ns/op is per record.
func BenchmarkGroupCommit(b *testing.B) {
	for _, pol := range []Policy{PolicySync, PolicyInterval} {
		for _, n := range []int{16, 256} {
			b.Run(fmt.Sprintf("%s/writers=%d", pol, n), func(b *testing.B) {
				var commits atomic.Int64
				db, err := Open(b.TempDir(), Options{Policy: pol, OnCommit: func(time.Duration, int) { commits.Add(1) }})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				rec := make([]byte, 256)
				var next atomic.Int64
				b.ResetTimer()
				var wg sync.WaitGroup
				per := (b.N + n - 1) / n
				for range n {
					wg.Go(func() {
						for range per {
							k := next.Add(1)
							db.Put("b", fmt.Appendf(nil, "%016d", k), rec)
							db.Wait()
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(per*n)/float64(max(commits.Load(), 1)), "records/commit")
			})
		}
	}
}
