package queue

import (
	"context"
	"errors"

	"github.com/heraldhq/herald/internal/message"
)

// ErrNoConsumer is returned by Deliver when this node has no consumer of
// the queue any more: the message goes back to the shared store.
var ErrNoConsumer = errors.New("queue: no consumer on this node")

// Shared keeps the queues' messages in a store the whole cluster shares
// and that outlives any node (broker.JSQueues: a JetStream work-queue
// stream). With Options.Shared every message sent goes there; a node
// takes a queue's messages from it only while it has consumers of the
// queue, only as many as they can take (Room), and settles each with
// its Receipt when a consumer acknowledges it (Ack) or gives it back
// (Nack, unsubscribe, disconnect). A message taken by a node that is lost
// before it settled goes back to the store by itself, for any node.
type Shared interface {
	// Send stores m in the cluster's queue name.
	Send(ctx context.Context, name string, m *message.Message) error
	// Interest says that this node now has (on) or no longer has (off)
	// consumers of name: start or stop taking its messages (Deliver).
	// Called under the queue's lock, in order; must not block nor call
	// the queues.
	Interest(name string, on bool)
	// Wake says that name's consumers here may take more messages now
	// (Room). Same rules as Interest.
	Wake(name string)
}

// Receipt settles one message taken from a Shared store. Its methods
// must not block; the queue calls one of them once.
type Receipt interface {
	Ack()  // consumed: remove it from the cluster's queue
	Nack() // not consumed: give it back, for a consumer on any node
}

// autoRoom is what a consumer that acknowledges on delivery may be
// handed at once from a Shared store: its connection's output queue is
// the real bound.
const autoRoom = 64

// Deliver queues m, taken from the Shared store, for one consumer of
// name on this node; r settles it there. It fails with ErrNoConsumer when
// name has no consumer here, or with a limit's error: the caller gives m
// back (r.Nack).
func (qs *Queues) Deliver(name string, m *message.Message, redelivered bool, r Receipt) error {
	size := entrySize(m)
	if qs.bytes.Add(int64(size)) > int64(qs.opts.MaxBytes) {
		qs.bytes.Add(-int64(size))
		return ErrTooManyBytes
	}
	q, _ := qs.get(name, false)
	if q == nil {
		qs.bytes.Add(-int64(size))
		return ErrNoConsumer
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.dead || len(q.consumers) == 0:
		qs.bytes.Add(-int64(size))
		return ErrNoConsumer
	case len(q.backlog) >= qs.opts.Backlog:
		qs.bytes.Add(-int64(size))
		return ErrFull
	}
	e := &Entry{ID: qs.nextID.Add(1), Msg: m, Redelivered: redelivered, size: size, receipt: r}
	q.backlog = append(q.backlog, e)
	q.dispatch()
	return nil
}

// Room reports how many more messages name's consumers on this node can
// take now: their free credit (autoRoom for one that acknowledges on
// delivery) less what already waits here.
func (qs *Queues) Room(name string) int {
	q, _ := qs.get(name, false)
	if q == nil {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, k := range q.consumers {
		switch {
		case k.gone:
		case k.credit == 0:
			n += autoRoom
		default:
			n += max(k.credit-len(k.inflight), 0)
		}
	}
	return max(n-len(q.backlog), 0)
}

// Release gives back to the Shared store what waits here for name's
// consumers: none of them can take it now. The store calls it when it
// has no pull outstanding, so that a message that came as a consumer
// left goes to another node rather than wait for this one's.
func (qs *Queues) Release(name string) {
	q, _ := qs.get(name, false)
	if q == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pickable() {
		return // taken meanwhile: let dispatch run
	}
	q.backlog = q.giveBack(q.backlog)
	if len(q.backlog) == 0 {
		q.backlog = nil
	}
}

// pickable reports whether a consumer could take a message now. Called
// with q.mu held.
func (q *Queue) pickable() bool {
	for _, k := range q.consumers {
		if !k.gone && (k.credit == 0 || len(k.inflight) < k.credit) {
			return true
		}
	}
	return false
}

// wake tells the Shared store that q's consumers may take more. Called
// with q.mu held.
func (q *Queue) wake() {
	if s := q.qs.opts.Shared; s != nil && len(q.consumers) > 0 {
		s.Wake(q.name)
	}
}

// giveBack returns the entries taken from the Shared store among entries
// to it, and the others. Called with q.mu held.
func (q *Queue) giveBack(entries []*Entry) []*Entry {
	if q.qs.opts.Shared == nil {
		return entries
	}
	kept := entries[:0:0]
	for _, e := range entries {
		if e.receipt == nil {
			kept = append(kept, e)
			continue
		}
		q.qs.bytes.Add(-int64(e.size))
		e.receipt.Nack()
	}
	return kept
}

// releaseShared gives back what waits here from the Shared store: no
// consumer is left to take it. Called with q.mu held.
func (q *Queue) releaseShared() {
	if q.qs.opts.Shared == nil || len(q.consumers) > 0 {
		return
	}
	q.backlog = q.giveBack(q.backlog)
	if len(q.backlog) == 0 {
		q.backlog = nil
	}
}
