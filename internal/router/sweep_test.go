package router

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

func TestHistoryLimits(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		ttl   time.Duration
		gaps  []time.Duration // clock advance before each publish
		sweep time.Duration   // clock advance, then sweep, before resuming
		want  []uint64        // replayed to a client resuming from the start
	}{
		{"count", 3, 0, make([]time.Duration, 6), 0, []uint64{4, 5, 6}},
		{"count larger than published", 10, 0, make([]time.Duration, 4), 0, []uint64{1, 2, 3, 4}},
		{"age", 100, 10 * time.Second, []time.Duration{0, time.Second, 5 * time.Second, 5 * time.Second}, 4 * time.Second, []uint64{3, 4}},
		{"age and count", 2, 10 * time.Second, []time.Duration{0, 0, 0, 9 * time.Second}, 2 * time.Second, []uint64{4}},
		{"age: all expired", 100, time.Second, make([]time.Duration, 3), time.Hour, nil},
		{"no history", 0, 0, make([]time.Duration, 3), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			r := newRouter(t, Options{HistorySize: tt.size, HistoryTTL: tt.ttl, Now: c.Now})
			for _, d := range tt.gaps {
				c.Advance(d)
				publish(t, r, "t", 1)
			}
			c.Advance(tt.sweep)
			r.sweep(c.Now())
			var got []uint64
			r.history.Since("t", 0, func(m *message.Message) { got = append(got, m.Seq) })
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("history holds %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEviction(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		ttl     time.Duration
		touch   time.Duration // Position() this long after the publish (0: never)
		sweepAt time.Duration // sweep this long after the publish
		evicted bool
	}{
		{"no history, idle", 0, 0, 0, idleGrace, true},
		{"no history, not idle long enough", 0, 0, 0, idleGrace - time.Second, false},
		{"no history, Position keeps it", 0, 0, 50 * time.Second, idleGrace + time.Second, false},
		{"history without age limit is kept", 10, 0, 0, 24 * time.Hour, false},
		{"history expired", 10, 30 * time.Second, 0, idleGrace, true},
		{"history not yet expired", 10, 2 * time.Minute, 0, idleGrace, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			r := newRouter(t, Options{HistorySize: tt.size, HistoryTTL: tt.ttl, Now: c.Now})
			s := &recorder{}
			_ = r.Subscribe(s, "t", nil, nil) // subscriptions do not keep a state
			publish(t, r, "t", 3)
			before := r.Position("t")
			start := c.Now()
			if tt.touch > 0 {
				c.Advance(tt.touch)
				r.Position("t")
			}
			c.Set(start.Add(tt.sweepAt))
			r.sweep(c.Now())
			if got := r.Stats().Topics == 0; got != tt.evicted {
				t.Fatalf("evicted = %v, want %v", got, tt.evicted)
			}
			publish(t, r, "t", 1)
			after := r.Position("t")
			if tt.evicted {
				// A new epoch starting at 1; a client resuming from the
				// old position is told its epoch is gone.
				if after.Epoch == before.Epoch || after.Seq != 1 {
					t.Fatalf("after eviction: %+v (before %+v)", after, before)
				}
				late := &recorder{}
				_ = r.Subscribe(late, "t", map[string]message.Position{"t": before}, late.replay)
				if len(late.gaps) != 1 || !late.gaps[0].Reset {
					t.Fatalf("resume across eviction: gaps %+v", late.gaps)
				}
			} else if after != (message.Position{Epoch: before.Epoch, Seq: 4}) {
				t.Fatalf("kept state moved: %+v -> %+v", before, after)
			}
			if got := s.seqs(); len(got) != 4 {
				t.Fatalf("live subscriber got %v", got)
			}
		})
	}
}

// TestEvictionRacesPublish: eviction and publish contend for the same
// states; a subscriber must always see, per epoch, 1, 2, 3... with no
// repeats, and every publish must be delivered.
func TestEvictionRacesPublish(t *testing.T) {
	c := newClock()
	r := newRouter(t, Options{Now: c.Now})
	s := &recorder{}
	_ = r.Subscribe(s, "#", nil, nil)
	const publishers, each = 4, 500
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := r.Publish(context.Background(), &message.Message{Topic: fmt.Sprint("t/", (p+i)%2)}); err != nil {
					t.Error(err)
				}
				if i%50 == 0 {
					r.Position("t/0")
				}
			}
		}()
	}
	stop := make(chan struct{})
	sweeps := make(chan int)
	go func() {
		n := 0
		defer func() { sweeps <- n }()
		for {
			select {
			case <-stop:
				return
			default:
				c.Advance(idleGrace)
				r.sweep(c.Now())
				n++
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-sweeps
	type key struct{ topic, epoch string }
	last := map[key]uint64{}
	for _, m := range s.msgs {
		k := key{m.Topic, m.Epoch}
		if m.Seq != last[k]+1 {
			t.Fatalf("%s epoch %s: seq %d after %d", m.Topic, m.Epoch, m.Seq, last[k])
		}
		last[k] = m.Seq
	}
	if len(s.msgs) != publishers*each {
		t.Fatalf("delivered %d, want %d", len(s.msgs), publishers*each)
	}
}

// TestSweeper checks the background sweeper evicts and stops on Close. It
// is the one test with a real ticker; it synchronises on the sweeper's own
// signal, with a generous deadline only to fail instead of hanging.
func TestSweeper(t *testing.T) {
	c := newClock()
	r := build(Options{Now: c.Now})
	swept := make(chan struct{}, 1)
	r.afterSweep = func() {
		select {
		case swept <- struct{}{}:
		default:
		}
	}
	go r.sweeper(time.Millisecond)
	publish(t, r, "t", 1)
	c.Advance(idleGrace)
	deadline := time.After(30 * time.Second)
	for r.Stats().Topics != 0 {
		select {
		case <-swept:
		case <-deadline:
			t.Fatal("sweeper did not evict the idle topic")
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
	default:
		t.Fatal("sweeper still running after Close")
	}
}
