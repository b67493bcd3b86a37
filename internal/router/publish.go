package router

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// Publish validates m's topic name, stamps m with ID, Seq, Epoch and Time,
// fans it out to every matching subscriber (through the broker) and
// appends it to history. Publishes to one topic are serialized, so its
// subscribers see Seq order; publishes to different topics run in
// parallel.
//
// m belongs to the router once Publish succeeds: it is shared by every
// subscriber and by history and must not be modified, nor published again
// (ErrPublished). On error nothing is stamped, delivered or recorded, and
// the topic's sequence is unchanged.
func (r *Router) Publish(ctx context.Context, m *message.Message) error {
	if m == nil {
		return ErrNilMessage
	}
	if m.ID != 0 {
		return ErrPublished
	}
	if err := topic.ValidName(m.Topic); err != nil {
		return err
	}
	if r.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.sequenced {
		return r.publishSequenced(ctx, m)
	}
	st := r.lockState(m.Topic)
	defer st.mu.Unlock()
	m.ID = r.nextID.Add(1)
	m.Seq, m.Epoch, m.Time = st.seq+1, st.epoch, r.now()
	// The broker delivers back to r.deliver before returning (for the
	// in-process Memory broker), so fan-out happens under st.mu.
	if err := r.broker.Publish(ctx, m); err != nil {
		m.ID, m.Seq, m.Epoch, m.Time = 0, 0, "", time.Time{}
		return err
	}
	st.seq = m.Seq
	st.active = m.Time
	r.history.Append(m)
	r.published.Add(1)
	return nil
}

// deliver is the router's broker callback: it fans m out to every local
// subscriber whose filter matches, each at most once. A message with ID 0
// was published on another node and is first stamped here (ingest).
//
// The subscription tree keeps subscribers of one filter together, and the
// common case is a single matching filter node: its subscribers are
// distinct by construction, so they are delivered to straight from the
// tree's slice, with no copy and no allocation however many there are.
// Only when several nodes match (overlapping filters) can one subscriber
// appear twice, and only then is a pooled scratch used to de-duplicate.
func (r *Router) deliver(m *message.Message) {
	if m.ID == 0 {
		r.ingest(m) // from another node (remote.go)
		return
	}
	r.fanout(m)
}

// fanout delivers m to the local subscribers whose filters match.
func (r *Router) fanout(m *message.Message) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var first []Subscriber
	var sc *scratch
	r.subs.MatchGroups(m.Topic, func(vs []Subscriber) {
		switch {
		case first == nil:
			first = vs
		case sc == nil:
			sc = scratchPool.Get().(*scratch)
			sc.groups = append(sc.groups, first, vs)
		default:
			sc.groups = append(sc.groups, vs)
		}
	})
	if sc == nil {
		for _, s := range first {
			s.Deliver(m)
		}
		return
	}
	sc.deliverOnce(m)
	sc.reset()
	scratchPool.Put(sc)
}

// scratch is per-fan-out working memory for de-duplication, pooled so that
// overlapping filters do not allocate either once warm.
type scratch struct {
	groups [][]Subscriber
	// others holds the distinct subscribers of every group but the
	// largest, with whether they have been delivered to yet: a linear
	// list when they are few, a map otherwise.
	others []pending
	set    map[Subscriber]bool
}

type pending struct {
	s         Subscriber
	delivered bool
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

const (
	// linearDedupe: up to this many subscribers outside the largest group,
	// a linear scan beats hashing interface values.
	linearDedupe = 8
	// maxPooledSet: larger sets are dropped rather than pooled, so one
	// huge fan-out does not pin its memory forever.
	maxPooledSet = 1 << 16
)

// deliverOnce calls Deliver once for each distinct subscriber in groups.
//
// Overlap is typically one big group (a popular filter) plus a few
// subscribers that also hold a wildcard or exact filter. So the largest
// group is delivered to straight from the tree's slice, only the others
// are collected into a set, and each member of the largest group costs one
// lookup in that small set rather than an insert into a big one.
func (sc *scratch) deliverOnce(m *message.Message) {
	largest, others := 0, 0
	for i, g := range sc.groups {
		if len(g) > len(sc.groups[largest]) {
			largest = i
		}
		others += len(g)
	}
	others -= len(sc.groups[largest])
	if others <= linearDedupe {
		for i, g := range sc.groups {
			if i == largest {
				continue
			}
			for _, s := range g {
				if !slices.ContainsFunc(sc.others, func(p pending) bool { return p.s == s }) {
					sc.others = append(sc.others, pending{s: s})
				}
			}
		}
		for _, s := range sc.groups[largest] {
			for i := range sc.others {
				if sc.others[i].s == s {
					sc.others[i].delivered = true
					break
				}
			}
			s.Deliver(m)
		}
		for _, p := range sc.others {
			if !p.delivered {
				p.s.Deliver(m)
			}
		}
		return
	}
	if sc.set == nil {
		sc.set = make(map[Subscriber]bool, others)
	}
	for i, g := range sc.groups {
		if i == largest {
			continue
		}
		for _, s := range g {
			sc.set[s] = false
		}
	}
	for _, s := range sc.groups[largest] {
		if _, ok := sc.set[s]; ok {
			sc.set[s] = true
		}
		s.Deliver(m)
	}
	for i, g := range sc.groups {
		if i == largest {
			continue
		}
		for _, s := range g {
			if !sc.set[s] {
				sc.set[s] = true
				s.Deliver(m)
			}
		}
	}
}

// reset drops every reference scratch holds (the tree's slices and the
// subscribers) before it goes back to the pool.
func (sc *scratch) reset() {
	clear(sc.groups)
	sc.groups = sc.groups[:0]
	clear(sc.others)
	sc.others = sc.others[:0]
	if len(sc.set) > maxPooledSet {
		sc.set = nil
	} else {
		clear(sc.set)
	}
}
