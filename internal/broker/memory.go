package broker

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/heraldhq/herald/internal/message"
)

// Memory is the in-process Broker. Publish calls every subscriber's deliver
// synchronously, in the publisher's goroutine, before it returns: the router
// relies on that to keep a topic's messages in sequence order and to make
// subscribe-with-replay atomic with respect to publishes.
//
// Several routers may share one Memory to simulate a cluster in tests.
type Memory struct {
	mu     sync.Mutex // serializes changes to subs
	subs   atomic.Pointer[[]*memorySub]
	closed atomic.Bool
}

// memorySub is one registration; its pointer identifies it for cancel.
type memorySub struct {
	deliver func(*message.Message)
}

var _ Broker = (*Memory)(nil)

// NewMemory returns an in-process Broker.
func NewMemory() *Memory { return new(Memory) }

// Publish delivers m to every subscriber, synchronously. The subscriber list
// is an immutable snapshot, so Publish takes no lock and does not allocate.
func (b *Memory) Publish(ctx context.Context, m *message.Message) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if p := b.subs.Load(); p != nil {
		for _, s := range *p {
			s.deliver(m)
		}
	}
	return nil
}

// Subscribe implements Broker. After Close it registers nothing and returns
// a no-op cancel.
func (b *Memory) Subscribe(deliver func(*message.Message)) (cancel func()) {
	s := &memorySub{deliver: deliver}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return func() {}
	}
	b.swap(func(old []*memorySub) []*memorySub { return append(old, s) })
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.swap(func(old []*memorySub) []*memorySub {
			out := make([]*memorySub, 0, len(old))
			for _, x := range old {
				if x != s {
					out = append(out, x)
				}
			}
			return out
		})
	}
}

// swap replaces the subscriber list with edit(copy of current). b.mu must
// be held.
func (b *Memory) swap(edit func([]*memorySub) []*memorySub) {
	var cur []*memorySub
	if p := b.subs.Load(); p != nil {
		cur = *p
	}
	next := edit(append([]*memorySub(nil), cur...))
	b.subs.Store(&next)
}

// Close makes later Publish calls fail and drops all subscribers. It is
// idempotent.
func (b *Memory) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed.Store(true)
	b.subs.Store(nil)
	return nil
}
