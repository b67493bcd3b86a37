package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/heraldhq/herald/internal/durable"
	"github.com/heraldhq/herald/internal/store"
)

// BenchmarkSessionsDeliver: one message into a session's log and its
// acknowledgement, from many sessions at once; "file+sync" also waits
// until the message is durable, as a poll does before it answers (group
// commit shares the fsync between the sessions).
func BenchmarkSessionsDeliver(b *testing.B) {
	for _, kind := range []string{"memory", "file", "file+sync"} {
		b.Run(kind, func(b *testing.B) {
			var st store.Sessions = store.NewMemorySessions()
			var f *store.FileSessions
			if kind != "memory" {
				db, err := durable.Open(b.TempDir(), durable.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				if f, err = store.NewFileSessions(db); err != nil {
					b.Fatal(err)
				}
				st = f
			}
			var next atomic.Int64
			msg := make([]byte, 200)
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				id := fmt.Sprint("s", next.Add(1))
				st.Create(id, store.LogLimits{}, st0)
				n := uint64(0)
				for pb.Next() {
					st.Append(id, [][]byte{msg})
					n++
					if kind == "file+sync" {
						f.Sync(context.Background())
					}
					st.Ack(id, n)
				}
			})
		})
	}
}
