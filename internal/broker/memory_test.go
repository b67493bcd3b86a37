package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/heraldhq/herald/internal/message"
)

func TestMemory(t *testing.T) {
	type step struct {
		op   string // "sub", "cancel", "pub", "close", "pubctx"
		id   int    // subscriber id for sub/cancel
		want error  // for pub
	}
	tests := []struct {
		name  string
		steps []step
		want  map[int][]string // subscriber id -> topics received
	}{
		{
			name:  "no subscribers",
			steps: []step{{op: "pub"}},
			want:  map[int][]string{},
		},
		{
			name:  "everyone gets everything",
			steps: []step{{op: "sub", id: 1}, {op: "sub", id: 2}, {op: "pub"}, {op: "pub"}},
			want:  map[int][]string{1: {"m0", "m1"}, 2: {"m0", "m1"}},
		},
		{
			name:  "late subscriber misses earlier",
			steps: []step{{op: "sub", id: 1}, {op: "pub"}, {op: "sub", id: 2}, {op: "pub"}},
			want:  map[int][]string{1: {"m0", "m1"}, 2: {"m1"}},
		},
		{
			name:  "cancel stops delivery and is idempotent",
			steps: []step{{op: "sub", id: 1}, {op: "sub", id: 2}, {op: "pub"}, {op: "cancel", id: 1}, {op: "cancel", id: 1}, {op: "pub"}},
			want:  map[int][]string{1: {"m0"}, 2: {"m0", "m1"}},
		},
		{
			name:  "closed broker refuses",
			steps: []step{{op: "sub", id: 1}, {op: "close"}, {op: "pub", want: ErrClosed}, {op: "close"}, {op: "sub", id: 2}, {op: "pub", want: ErrClosed}, {op: "cancel", id: 2}},
			want:  map[int][]string{},
		},
		{
			name:  "cancelled context",
			steps: []step{{op: "sub", id: 1}, {op: "pubctx", want: context.Canceled}, {op: "pub"}},
			want:  map[int][]string{1: {"m1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewMemory()
			got := map[int][]string{}
			cancels := map[int]func(){}
			n := 0
			for _, s := range tt.steps {
				switch s.op {
				case "sub":
					id := s.id
					cancels[id] = b.Subscribe(func(m *message.Message) { got[id] = append(got[id], m.Topic) })
				case "cancel":
					cancels[s.id]()
				case "close":
					if err := b.Close(); err != nil {
						t.Fatal(err)
					}
				case "pub", "pubctx":
					ctx := context.Background()
					if s.op == "pubctx" {
						c, cancel := context.WithCancel(ctx)
						cancel()
						ctx = c
					}
					err := b.Publish(ctx, &message.Message{Topic: fmt.Sprint("m", n)})
					n++
					if !errors.Is(err, s.want) {
						t.Fatalf("Publish = %v, want %v", err, s.want)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("received %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMemorySynchronous: the router relies on delivery having happened, in
// the publisher's goroutine, when Publish returns.
func TestMemorySynchronous(t *testing.T) {
	b := NewMemory()
	var delivered bool
	b.Subscribe(func(*message.Message) { delivered = true })
	if err := b.Publish(context.Background(), &message.Message{}); err != nil || !delivered {
		t.Fatalf("Publish returned %v before delivering (%v)", err, delivered)
	}
}

func TestMemoryConcurrent(t *testing.T) {
	b := NewMemory()
	var total atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // churn subscriptions while publishing
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				cancel := b.Subscribe(func(*message.Message) {})
				cancel()
			}
		}
	}()
	b.Subscribe(func(*message.Message) { total.Add(1) })
	var pubs sync.WaitGroup
	for range 4 {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			for range 1000 {
				if err := b.Publish(context.Background(), &message.Message{}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	pubs.Wait()
	close(stop)
	wg.Wait()
	if total.Load() != 4000 {
		t.Fatalf("stable subscriber got %d, want 4000", total.Load())
	}
}

func TestMemoryOrderPerPublisher(t *testing.T) {
	b := NewMemory()
	var got []uint64
	b.Subscribe(func(m *message.Message) { got = append(got, m.Seq) })
	for i := uint64(1); i <= 100; i++ {
		_ = b.Publish(context.Background(), &message.Message{Seq: i})
	}
	if !slices.IsSorted(got) || len(got) != 100 {
		t.Fatalf("out of order or lost: %v", got)
	}
}

func BenchmarkMemoryPublish(b *testing.B) {
	br := NewMemory()
	for range 4 {
		br.Subscribe(func(*message.Message) {})
	}
	m := &message.Message{Topic: "t"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = br.Publish(ctx, m)
	}
}
