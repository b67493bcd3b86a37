// Package queue holds point-to-point queues, STOMP's /queue/ destinations:
// each message goes to exactly one consumer, messages wait (bounded) while
// no consumer can take them, consumers that acknowledge hold at most their
// credit of unacknowledged messages, and what a consumer leaves
// unacknowledged (NACK, or it went away) goes back to the front of the
// queue for the next one, marked redelivered.
//
// Queues are separate from the topic space: a queue message is handed to
// one consumer, a topic message to every subscriber, so the two cannot
// share a name space without one of them changing meaning.
package queue

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/store"
)

// Errors Send reports.
var (
	ErrFull         = errors.New("queue: full")
	ErrTooManyBytes = errors.New("queue: memory limit reached")
	ErrTooMany      = errors.New("queue: too many queues")
)

// Options bound the queues. Zero fields take the defaults.
type Options struct {
	Backlog   int // messages waiting per queue while no consumer can take them; default 1000
	MaxQueues int // queues existing at once; default 10,000
	MaxBytes  int // payload bytes held by all queues (waiting and unacknowledged); default 64 MiB
	// Store, if set, keeps queued and unacknowledged messages across
	// restarts (persist.go); use Open to load them.
	Store store.KV
	// Crashed says the process that wrote Store died without closing it:
	// a delivery may have gone out before its record was committed, so
	// Open marks every message it loads redelivered.
	Crashed bool

	// Remote, if set, joins these queues with other nodes' (remote.go).
	Remote Remote
	// Shared, if set, keeps the messages in a store the cluster shares
	// (shared.go); Remote is then not used.
	Shared Shared
}

// Entry is one message in a queue.
type Entry struct {
	ID  uint64 // unique among all queues, increasing
	Msg *message.Message
	// Redelivered is set once the message went to a consumer that did not
	// acknowledge it. It changes only under the queue's lock, and a
	// consumer reads it in Take.
	Redelivered bool
	size        int
	receipt     Receipt // taken from the Shared store; nil otherwise
}

// Consumer receives a queue's messages.
type Consumer interface {
	// Take hands e over. It runs under the queue's lock: it must not block
	// and must not call the queue. It returns false when it can take
	// nothing more (its connection is closing): e stays queued and the
	// consumer is passed over until it unsubscribes.
	Take(e *Entry) bool
}

// Queues is a set of named queues, created on first use and removed when
// nothing uses them.
type Queues struct {
	opts   Options
	mu     sync.Mutex
	queues map[string]*Queue
	nextID atomic.Uint64
	bytes  atomic.Int64
}

// New returns an empty set of queues.
func New(o Options) *Queues {
	if o.Backlog <= 0 {
		o.Backlog = 1000
	}
	if o.MaxQueues <= 0 {
		o.MaxQueues = 10000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	return &Queues{opts: o, queues: make(map[string]*Queue)}
}

// Queue is one named queue.
type Queue struct {
	name      string
	qs        *Queues
	mu        sync.Mutex
	backlog   []*Entry // oldest first
	consumers []*consumer
	next      int  // round-robin position in consumers
	dead      bool // removed from Queues; look it up again
}

type consumer struct {
	c        Consumer
	credit   int      // most unacknowledged messages; 0: acknowledges on delivery
	inflight []*Entry // unacknowledged, in delivery order
	gone     bool     // refused a message
}

// get returns the queue called name, creating it if create is set.
func (qs *Queues) get(name string, create bool) (*Queue, error) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if q := qs.queues[name]; q != nil || !create {
		return q, nil
	}
	if len(qs.queues) >= qs.opts.MaxQueues {
		return nil, ErrTooMany
	}
	q := &Queue{name: name, qs: qs}
	qs.queues[name] = q
	return q, nil
}

// lock returns the queue called name locked, creating it as needed; a
// queue removed meanwhile is looked up again.
func (qs *Queues) lock(name string) (*Queue, error) {
	for {
		q, err := qs.get(name, true)
		if err != nil {
			return nil, err
		}
		q.mu.Lock()
		if !q.dead {
			return q, nil
		}
		q.mu.Unlock()
	}
}

// SendLocal queues m for one consumer of name on this node, whatever
// Remote would say. m must not be modified after.
func (qs *Queues) SendLocal(name string, m *message.Message) error {
	size := entrySize(m)
	if qs.bytes.Add(int64(size)) > int64(qs.opts.MaxBytes) {
		qs.bytes.Add(-int64(size))
		return ErrTooManyBytes
	}
	q, err := qs.lock(name)
	if err != nil {
		qs.bytes.Add(-int64(size))
		return err
	}
	defer q.mu.Unlock()
	if len(q.backlog) >= qs.opts.Backlog {
		qs.bytes.Add(-int64(size))
		return ErrFull
	}
	e := &Entry{ID: qs.nextID.Add(1), Msg: m, size: size}
	q.backlog = append(q.backlog, e)
	q.keep(e)
	q.dispatch()
	return nil
}

func entrySize(m *message.Message) int {
	size := len(m.Data) + 64
	for _, h := range m.Headers {
		size += len(h.Key) + len(h.Value)
	}
	return size
}

// Subscribe adds c as a consumer of name and hands it what waits, up to
// credit unacknowledged messages (credit <= 0: c acknowledges each
// message as it takes it). It returns the queue for Ack, Nack and
// Unsubscribe.
func (qs *Queues) Subscribe(name string, c Consumer, credit int) (*Queue, error) {
	q, err := qs.lock(name)
	if err != nil {
		return nil, err
	}
	defer q.mu.Unlock()
	q.consumers = append(q.consumers, &consumer{c: c, credit: max(credit, 0)})
	q.dispatch()
	switch {
	case len(q.consumers) > 1:
	case qs.opts.Shared != nil:
		qs.opts.Shared.Interest(name, true) // under q.mu: transitions stay in order
	case qs.opts.Remote != nil:
		qs.opts.Remote.Interest(name, true)
	}
	q.wake()
	return q, nil
}

// Len reports the messages waiting in name and those held unacknowledged
// by its consumers.
func (qs *Queues) Len(name string) (waiting, unacked int) {
	q, _ := qs.get(name, false)
	if q == nil {
		return 0, 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, c := range q.consumers {
		unacked += len(c.inflight)
	}
	return len(q.backlog), unacked
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.name }

// Unsubscribe removes c; what it held unacknowledged goes back to the
// front of the queue, marked redelivered, for the other consumers (or
// back to the Shared store, for a consumer on any node).
func (q *Queue) Unsubscribe(c Consumer) {
	q.mu.Lock()
	for i, k := range q.consumers {
		if k.c != c {
			continue
		}
		q.consumers = append(q.consumers[:i], q.consumers[i+1:]...)
		if q.next > i {
			q.next--
		}
		q.requeue(q.giveBack(k.inflight))
		k.inflight = nil
		switch {
		case len(q.consumers) > 0:
		case q.qs.opts.Shared != nil:
			q.qs.opts.Shared.Interest(q.name, false)
			q.releaseShared()
		case q.qs.opts.Remote != nil:
			q.qs.opts.Remote.Interest(q.name, false)
		}
		break
	}
	q.dispatch()
	q.wake()
	empty := len(q.consumers) == 0 && len(q.backlog) == 0
	q.mu.Unlock()
	if empty {
		q.qs.remove(q)
	}
}

// Ack removes entries c acknowledged; its credit is handed on at once.
func (q *Queue) Ack(c Consumer, entries ...*Entry) {
	q.settle(c, entries, false)
}

// Nack puts entries c refused back at the front of the queue, marked
// redelivered (those from a Shared store back in the store, for a
// consumer on any node).
func (q *Queue) Nack(c Consumer, entries ...*Entry) {
	q.settle(c, entries, true)
}

func (q *Queue) settle(c Consumer, entries []*Entry, requeue bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := q.find(c)
	if k == nil {
		return
	}
	var back []*Entry
	for _, e := range entries {
		for i, f := range k.inflight {
			if f != e {
				continue
			}
			k.inflight = append(k.inflight[:i], k.inflight[i+1:]...)
			if requeue {
				back = append(back, e)
			} else {
				q.qs.bytes.Add(-int64(e.size))
				q.forget(e)
			}
			break
		}
	}
	if len(k.inflight) == 0 {
		k.inflight = nil
	}
	q.requeue(q.giveBack(back))
	q.dispatch()
	q.wake()
}

func (q *Queue) find(c Consumer) *consumer {
	for _, k := range q.consumers {
		if k.c == c {
			return k
		}
	}
	return nil
}

// requeue puts entries, in their order, before everything waiting.
func (q *Queue) requeue(entries []*Entry) {
	if len(entries) == 0 {
		return
	}
	for _, e := range entries {
		e.Redelivered = true
	}
	q.backlog = append(entries[:len(entries):len(entries)], q.backlog...)
}

// dispatch hands waiting messages to consumers with credit, in turn.
// Called with q.mu held.
func (q *Queue) dispatch() {
	for len(q.backlog) > 0 {
		k := q.pick()
		if k == nil {
			return
		}
		e := q.backlog[0]
		if !k.c.Take(e) {
			k.gone = true
			continue
		}
		q.backlog[0] = nil
		q.backlog = q.backlog[1:]
		if k.credit > 0 {
			k.inflight = append(k.inflight, e)
			if !e.Redelivered {
				q.sent(e)
			}
		} else {
			q.qs.bytes.Add(-int64(e.size))
			q.forget(e)
		}
	}
	q.backlog = nil // an empty queue keeps no buffer
}

// pick returns the next consumer, round-robin, that may take a message.
func (q *Queue) pick() *consumer {
	n := len(q.consumers)
	for i := range n {
		j := (q.next + i) % n
		k := q.consumers[j]
		if k.gone || k.credit > 0 && len(k.inflight) >= k.credit {
			continue
		}
		q.next = (j + 1) % n
		return k
	}
	return nil
}

// remove drops q from the set if nothing uses it any more.
func (qs *Queues) remove(q *Queue) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.dead || len(q.consumers) > 0 || len(q.backlog) > 0 {
		return
	}
	q.dead = true
	if qs.queues[q.name] == q {
		delete(qs.queues, q.name)
	}
}

// Count reports how many queues exist.
func (qs *Queues) Count() int {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	return len(qs.queues)
}
