package router

import (
	"slices"
	"time"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// Gap reports messages of Topic that a resuming subscriber should have had
// but that cannot be replayed: they left history (count or age limit), or
// the topic's sequence restarted since the subscriber's position.
//
// From..To (inclusive) are sequence numbers in the current Epoch. Per
// topic, for a client position P and the current position C:
//
//   - P.Epoch == C.Epoch and P.Seq <= C.Seq (or P is the zero Position, a
//     client that has seen nothing and wants what history holds): the
//     client lacks P.Seq+1 .. C.Seq. Whatever of that range history no
//     longer holds is reported as Gaps with 1 <= From <= To, and the rest
//     is replayed. No Gap means nothing was lost.
//   - P.Epoch != C.Epoch, or P.Seq > C.Seq (a position this sequence never
//     reached): the sequence restarted (node restart, or the topic's state
//     was evicted), so P means nothing in the current epoch. The first Gap
//     reported for the topic has Reset set, From = 1 and To = the sequence
//     before the first replayed message (C.Seq if none is replayed);
//     everything held in the current epoch is replayed. To may be 0 (then
//     To < From): no message of the current epoch is missing, but whatever
//     followed P in its old epoch is lost and cannot be known.
type Gap struct {
	Topic    string
	Epoch    string // the current epoch, to which From and To belong
	From, To uint64
	// Reset reports that the client's epoch is not the current one, so
	// anything after its position in the old epoch is lost too. The client
	// could find this out by comparing epochs; Reset says it plainly.
	Reset bool
}

// Subscribe adds sub under filter (validated with topic.ValidFilter);
// subscribing the same sub to the same filter again is not an error and
// adds nothing.
//
// since maps exact topic names to the subscriber's last seen Position (nil:
// live only; since is also ignored when replay is nil). For each topic in
// since that is a valid name matching filter (others are ignored),
// Subscribe computes the Gaps and the held messages after that position
// (see Gap for the rules, including how a position from another epoch is
// treated; an unknown topic gets its state and epoch created) and calls
// replay(gaps, msgs), once, if there is anything to report. Gaps and
// messages are grouped by topic in name order, messages oldest first.
// Positions are honoured as given: resubscribing with an old position
// replays messages sub may already have received live.
//
// The add and the replay are atomic with respect to publishes: replay runs
// while those topics' publishes are held off and under the router's write
// lock, BEFORE any later message can be delivered to sub, so a caller that
// enqueues the replay in order and then receives live messages through
// Deliver sees every message of those topics exactly once, in order.
// replay may keep the two slices, but the messages are shared and must not
// be modified; replay must not block and must not call into the Router.
func (r *Router) Subscribe(sub Subscriber, filter string, since map[string]message.Position, replay func([]Gap, []*message.Message)) error {
	if sub == nil {
		return ErrNilSubscriber
	}
	if err := topic.ValidFilter(filter); err != nil {
		return err
	}
	if r.closed.Load() {
		return ErrClosed
	}
	var names []string
	if replay != nil {
		for name := range since {
			if topic.ValidName(name) == nil && topic.Match(filter, name) {
				names = append(names, name)
			}
		}
		slices.Sort(names) // one lock order for every Subscribe: no deadlock
		if r.sequenced {
			r.catchUp(names, since)
		}
	}
	// Holding the topics' states keeps their publishes (sequence,
	// fan-out, history) out until the subscription is in place.
	states := make([]*topicState, len(names))
	for i, name := range names {
		states[i] = r.lockState(name)
	}
	defer func() {
		for _, st := range states {
			st.mu.Unlock()
		}
	}()
	var gaps []Gap
	var msgs []*message.Message
	now := r.now()
	for i, st := range states {
		gaps, msgs = r.resume(st, since[names[i]], now, gaps, msgs)
		st.active = now
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs.Add(filter, sub)
	if len(gaps) > 0 || len(msgs) > 0 {
		replay(gaps, msgs)
	}
	return nil
}

// resume appends to gaps and msgs what a client at pos lacks of st's topic
// (see Gap). Called with st.mu held.
//
// It does not assume history is contiguous: every hole between the
// client's position, the held messages and the current sequence becomes a
// Gap, so a store that loses messages in the middle is reported honestly.
// Messages past the router's HistoryTTL count as missing even if the store
// has not trimmed them yet.
func (r *Router) resume(st *topicState, pos message.Position, now time.Time, gaps []Gap, msgs []*message.Message) ([]Gap, []*message.Message) {
	after, reset := pos.Seq, false
	if !pos.IsZero() && (pos.Epoch != st.epoch || pos.Seq > st.seq) {
		after, reset = 0, true
	}
	start := len(msgs)
	r.history.Since(st.name, after, func(m *message.Message) {
		if m.Epoch == st.epoch && !r.expired(m, now) {
			msgs = append(msgs, m)
		}
	})
	next := after + 1 // the first sequence number the client lacks
	for _, m := range msgs[start:] {
		if m.Seq > next || reset {
			gaps = append(gaps, Gap{Topic: st.name, Epoch: st.epoch, From: next, To: m.Seq - 1, Reset: reset})
			reset = false
		}
		next = m.Seq + 1
	}
	if next <= st.seq || reset {
		gaps = append(gaps, Gap{Topic: st.name, Epoch: st.epoch, From: next, To: st.seq, Reset: reset})
	}
	return gaps, msgs
}

// expired reports whether m is past the history age limit at now.
func (r *Router) expired(m *message.Message, now time.Time) bool {
	return r.ttl > 0 && now.Sub(m.Time) >= r.ttl
}

// Unsubscribe removes sub from filter and reports whether it was
// subscribed there. Other filters of sub are unaffected.
func (r *Router) Unsubscribe(sub Subscriber, filter string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.subs.Remove(filter, sub)
}
