package router

import (
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

// recorder is a Subscriber that keeps what it is given: live deliveries
// and, through its replay method, replays.
type recorder struct {
	name string
	mu   sync.Mutex
	msgs []*message.Message
	gaps []Gap
}

func (r *recorder) Deliver(m *message.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
}

// replay is a Subscribe replay callback that enqueues like a connection
// would: gaps first, then messages, into the same stream as Deliver.
func (r *recorder) replay(gaps []Gap, msgs []*message.Message) {
	r.mu.Lock()
	r.gaps = append(r.gaps, gaps...)
	r.msgs = append(r.msgs, msgs...)
	r.mu.Unlock()
}

func (r *recorder) topics() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		out = append(out, m.Topic)
	}
	return out
}

func (r *recorder) seqs() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []uint64
	for _, m := range r.msgs {
		out = append(out, m.Seq)
	}
	return out
}

// counter is a cheap Subscriber for benchmarks.
type counter struct{ n int }

func (c *counter) Deliver(*message.Message) { c.n++ }

// nop is a Subscriber safe to call from many goroutines. Not zero-sized:
// distinct subscribers must have distinct pointers.
type nop struct{ _ byte }

func (*nop) Deliver(*message.Message) {}

// clock is an injectable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_700_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// newRouter returns a Router without the background sweeper, so tests
// decide when sweeps happen (by calling r.sweep).
func newRouter(t testing.TB, o Options) *Router {
	t.Helper()
	r := build(o)
	close(r.done)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func publish(t testing.TB, r *Router, name string, n int) {
	t.Helper()
	for range n {
		if err := r.Publish(t.Context(), &message.Message{Topic: name, Data: []byte("x")}); err != nil {
			t.Fatalf("Publish(%q): %v", name, err)
		}
	}
}
