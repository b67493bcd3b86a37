// Package router is Herald's single topic space: every protocol publishes
// into it and subscribes from it.
//
// Publish stamps a message with its place in the topic's stream (ID, Seq,
// Epoch, Time), records it in history and fans it out to the matching
// subscribers by calling their non-blocking Deliver; publishers never
// touch sockets. Subscribe can resume a client from its last Position:
// what history still holds is replayed, what it no longer holds is
// reported as a Gap, and the switch from replay to live delivery loses and
// duplicates nothing.
//
// # Locking
//
// Each topic has a state (sequence, epoch) with its own mutex; Publish
// holds it while it assigns the sequence, hands the message to the broker
// (whose in-process implementation fans out synchronously) and appends to
// history, so a topic's subscribers see its messages in Seq order while
// different topics proceed in parallel. Fan-out reads the subscription
// tree under the router's read lock; Subscribe and Unsubscribe take the
// write lock briefly. Lock order is always topic state(s), then the
// router lock, then history; Subscribe locks several topic states in
// sorted name order.
//
// Subscriber.Deliver and the replay callback run under these locks: they
// must not block and must not call back into the Router.
package router

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/broker"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/store"
	"github.com/heraldhq/herald/internal/topic"
)

// Subscriber receives published messages.
//
// Deliver must not block (enqueue into the connection's bounded queue and
// return) and must not call back into the Router. It is called at most
// once per message per subscriber, even if several of its filters match,
// and, per topic, in Seq order. Implementations must be comparable values
// (typically pointers): the router uses them as map keys and compares them
// to find a subscription again.
type Subscriber interface {
	Deliver(m *message.Message)
}

// Options configure a Router. The zero value is usable: no history, an
// in-process broker, wall-clock time.
type Options struct {
	HistorySize int              // messages kept per topic; 0 => no history (sequence numbers are still assigned)
	HistoryTTL  time.Duration    // age limit of kept messages; 0 => no age limit
	Broker      broker.Broker    // nil => broker.NewMemory(), owned and closed by the Router
	History     store.History    // nil => store.NewMemoryHistory(HistorySize, HistoryTTL)
	Now         func() time.Time // nil => time.Now; must be safe for concurrent use
}

// Stats is a snapshot of a Router's size and activity.
type Stats struct {
	Topics        int    // topic states held (topics with a live sequence/epoch)
	Subscriptions int    // (filter, subscriber) pairs
	Published     uint64 // messages published through this Router
	Received      uint64 // messages published on other nodes and delivered here
}

// Router routes published messages to subscribers. It is safe for
// concurrent use.
type Router struct {
	mu   sync.RWMutex // guards subs
	subs topic.Tree[Subscriber]

	topics  sync.Map // topic name -> *topicState
	ntopics atomic.Int64

	history   store.History
	broker    broker.Broker
	ownBroker bool
	sequenced bool             // the broker stamps Seq and Epoch cluster-wide (remote.go)
	sequencer broker.Sequencer // the broker, when sequenced
	unsub     func()
	now       func() time.Time
	ttl       time.Duration

	nextID    atomic.Uint64
	published atomic.Uint64
	received  atomic.Uint64

	closed     atomic.Bool
	closeOnce  sync.Once
	stop       chan struct{}
	done       chan struct{}
	afterSweep func() // test hook, set before the sweeper starts
}

// New returns a Router and starts its background sweeper (see Close).
func New(o Options) *Router {
	r := build(o)
	go r.sweeper(sweepInterval)
	return r
}

// build returns a Router without its sweeper; tests drive sweep directly so
// that nothing happens behind their back. Close still works: it expects
// either a running sweeper or a closed done channel.
func build(o Options) *Router {
	r := &Router{
		history: o.History,
		broker:  o.Broker,
		now:     o.Now,
		ttl:     max(o.HistoryTTL, 0),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.history == nil {
		r.history = store.NewMemoryHistory(o.HistorySize, o.HistoryTTL)
	}
	if r.broker == nil {
		r.broker, r.ownBroker = broker.NewMemory(), true
	}
	if s, ok := r.broker.(broker.Sequencer); ok && s.Sequenced() {
		r.sequenced, r.sequencer = true, s
	}
	r.unsub = r.broker.Subscribe(r.deliver)
	return r
}

// Stats returns current counts.
func (r *Router) Stats() Stats {
	r.mu.RLock()
	subs := r.subs.Len()
	r.mu.RUnlock()
	return Stats{
		Topics:        int(r.ntopics.Load()),
		Subscriptions: subs,
		Published:     r.published.Load(),
		Received:      r.received.Load(),
	}
}

// Close stops the background sweeper, detaches from the broker (closing it
// if the Router created it) and makes later Publish and Subscribe calls
// fail with ErrClosed. Subscriptions are left in place; their owners drop
// them as their connections close. Close is idempotent.
func (r *Router) Close() error {
	var err error
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		close(r.stop)
		<-r.done
		r.unsub()
		if r.ownBroker {
			err = r.broker.Close()
		}
	})
	return err
}
