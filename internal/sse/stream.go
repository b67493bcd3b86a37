package sse

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/native"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/position"
	"github.com/heraldhq/herald/internal/router"
	"github.com/heraldhq/herald/internal/topic"
)

// stream is one SSE client: its filters, and its position on every topic
// it has seen, which each event's id carries as a resume token.
//
// It subscribes itself to the router (not through Session.Subscribe: the
// filters were authorized before the response started, so that a refusal
// could still be an HTTP status) and unsubscribes in OnClose.
type stream struct {
	s         *core.Session
	h         *Handler
	filters   []string
	heartbeat int64        // seconds
	lastSend  atomic.Int64 // unix seconds of the last bytes queued

	mu       sync.Mutex
	closed   bool
	starting bool      // buffering what arrives until start has sent it in order
	pending  []pending // gaps and messages held while starting
	pos      []position.Entry
	used     []uint64 // per pos entry: when last updated, for eviction
	clock    uint64
}

type pending struct {
	gap *router.Gap
	msg *message.Message
}

// Keys of the shared encodings: the event body of a message, and the
// whole event for clients that follow only that message's topic (their id
// is the same token, so the event is built once for all of them).
const (
	keyData  = "sse/data"
	keyWhole = "sse/event1"
)

func encodeData(m *message.Message) []byte {
	return AppendData(nil, native.AppendMessageParams(nil, m))
}

func encodeWhole(m *message.Message) []byte {
	id, _ := position.AppendEntries(nil, []position.Entry{{Topic: m.Topic, Pos: m.Position()}})
	return append(AppendID(nil, string(id)), m.Encoded(keyData, encodeData)...)
}

// OnMessage discards input: an SSE client sends nothing after its
// request.
func (st *stream) OnMessage(byte, []byte) error { return nil }

// OnClose drops the subscriptions.
func (st *stream) OnClose() {
	st.mu.Lock()
	st.closed = true
	st.pending = nil
	filters := st.filters
	st.mu.Unlock()
	st.h.streams.Delete(st.s.Scope.SessionID)
	r := st.s.Core().Router()
	for _, f := range filters {
		r.Unsubscribe(st, f)
	}
}

// Tick sends a heart-beat comment when nothing was sent for a while.
func (st *stream) Tick(now time.Time) {
	if now.Unix()-st.lastSend.Load() < st.heartbeat {
		return
	}
	st.send(outq.Item{Own: Heartbeat})
}

func (st *stream) send(it outq.Item) bool {
	st.lastSend.Store(st.s.Core().Unix()) // coarse: a heart-beat may come up to a second early
	return st.s.Send(it)
}

// Deliver implements router.Subscriber; it runs under the router's locks.
func (st *stream) Deliver(m *message.Message) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed || !st.s.Open() {
		return
	}
	if st.starting {
		st.pending = append(st.pending, pending{msg: m})
		return
	}
	st.deliverLocked(m)
}

// deliverLocked queues m's event with the updated position; st.mu held.
func (st *stream) deliverLocked(m *message.Message) {
	st.update(m.Topic, m.Position())
	it := outq.Item{Key: m.Topic, Droppable: true}
	if len(st.pos) == 1 {
		it.Shared = m.Encoded(keyWhole, encodeWhole)
	} else {
		it.Own = st.idLine()
		it.Shared = m.Encoded(keyData, encodeData)
	}
	if st.send(it) {
		st.s.Core().Delivered(1)
	}
}

// replay receives what history gives the resuming client; it runs under
// the router's locks, during start, so it only buffers.
func (st *stream) replay(gaps []router.Gap, msgs []*message.Message) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i := range gaps {
		st.pending = append(st.pending, pending{gap: &gaps[i]})
	}
	for _, m := range msgs {
		st.pending = append(st.pending, pending{msg: m})
	}
}

// start subscribes, then sends, in order: the retry delay, "missed"
// events (for a token that could not be read: malformed), the replay,
// and a "ready" event whose id holds every position, so that a client
// that receives no message before it reconnects still resumes from here.
// It runs on the request's goroutine once the session is live.
func (st *stream) start(since map[string]message.Position, malformed bool, retry time.Duration) {
	st.mu.Lock()
	st.starting = true
	for _, e := range sortedEntries(since) {
		if st.matches(e.Topic) && len(st.pos) < position.MaxEntries {
			st.pos = append(st.pos, e)
			st.used = append(st.used, 0)
		}
	}
	st.mu.Unlock()

	r := st.s.Core().Router()
	subscribed := make([]string, 0, len(st.filters))
	for f, fsince := range splitSince(st.filters, since) {
		if err := r.Subscribe(st, f, fsince, st.replay); err != nil {
			st.s.Core().Logger().Warn("sse subscribe failed", "filter", f, "err", err)
			continue
		}
		subscribed = append(subscribed, f)
	}
	// Where each exact topic stands now. Read after subscribing: every
	// message up to here is either before the client's start or already
	// buffered in pending.
	current := map[string]message.Position{}
	for _, f := range subscribed {
		if !topic.IsWildcard(f) {
			current[f] = r.Position(f)
		}
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		for _, f := range subscribed {
			r.Unsubscribe(st, f) // OnClose ran before we subscribed
		}
		return
	}
	st.filters = subscribed
	st.send(outq.Item{Own: AppendRetry(nil, retry)})
	if malformed {
		st.sendUnusable(current)
	}
	for _, p := range st.pending {
		if p.gap != nil {
			st.sendGap(*p.gap)
		} else {
			st.deliverLocked(p.msg)
		}
	}
	st.pending, st.starting = nil, false
	for t, p := range current {
		if _, ok := st.find(t); !ok {
			st.update(t, p)
		}
	}
	data := []byte(`{"topics":`)
	data = appendJSONList(data, subscribed)
	data = append(data, `,"stream":`...)
	data = appendJSONString(data, st.s.Scope.SessionID)
	data = append(data, '}')
	st.send(outq.Item{Own: AppendEvent(nil, st.token(), "ready", data)})
}

// sendUnusable tells a client whose Last-Event-ID could not be read that
// its place is lost: a "missed" event with reset per filter; for an exact
// topic it says which of the current epoch's messages came before the
// ones it will receive.
func (st *stream) sendUnusable(current map[string]message.Position) {
	for _, f := range st.filters {
		cur, exact := current[f]
		if !exact {
			data := []byte(`{"topic":`)
			data = appendJSONString(data, f)
			data = append(data, `,"reset":true}`...)
			st.send(outq.Item{Own: AppendEvent(nil, "", "missed", data)})
			continue
		}
		to := cur.Seq
		for _, p := range st.pending {
			if p.msg != nil && p.msg.Topic == f {
				to = p.msg.Seq - 1
				break
			}
		}
		st.sendGap(router.Gap{Topic: f, Epoch: cur.Epoch, From: 1, To: to, Reset: true})
	}
}

// sendGap queues a "missed" event; the client's position moves past it.
func (st *stream) sendGap(g router.Gap) {
	st.update(g.Topic, message.Position{Epoch: g.Epoch, Seq: g.To})
	st.send(outq.Item{Own: AppendEvent(nil, st.token(), "missed", native.AppendMissedParams(nil, g))})
}

func (st *stream) matches(name string) bool {
	for _, f := range st.filters {
		if topic.Match(f, name) {
			return true
		}
	}
	return false
}

// update records p as the client's position on t. Beyond
// position.MaxEntries topics the least recently updated one is forgotten
// (its messages are then not replayed on resume).
func (st *stream) update(t string, p message.Position) {
	st.clock++
	i, ok := st.find(t)
	if ok {
		st.pos[i].Pos, st.used[i] = p, st.clock
		return
	}
	if len(st.pos) >= position.MaxEntries {
		old := 0
		for j := range st.used {
			if st.used[j] < st.used[old] {
				old = j
			}
		}
		st.pos = slices.Delete(st.pos, old, old+1)
		st.used = slices.Delete(st.used, old, old+1)
		if old < i {
			i--
		}
	}
	st.pos = slices.Insert(st.pos, i, position.Entry{Topic: t, Pos: p})
	st.used = slices.Insert(st.used, i, st.clock)
}

func (st *stream) find(t string) (int, bool) {
	return slices.BinarySearchFunc(st.pos, t, func(e position.Entry, t string) int { return strings.Compare(e.Topic, t) })
}

// token is the resume token of every position.
func (st *stream) token() string {
	b, err := position.AppendEntries(nil, st.pos)
	if err != nil {
		// Too long for a token (very long topic names): resume from
		// nothing rather than send an id the client cannot use.
		b, _ = position.AppendEntries(nil, nil)
	}
	return string(b)
}

func (st *stream) idLine() []byte { return AppendID(nil, st.token()) }

// splitSince gives each position to the first filter that matches its
// topic, in filter order: with overlapping filters ("a/#" and "a/b") a
// topic's history must be replayed once.
func splitSince(filters []string, since map[string]message.Position) func(yield func(string, map[string]message.Position) bool) {
	return func(yield func(string, map[string]message.Position) bool) {
		taken := map[string]bool{}
		for _, f := range filters {
			var mine map[string]message.Position
			for t, p := range since {
				if !taken[t] && topic.Match(f, t) {
					if mine == nil {
						mine = map[string]message.Position{}
					}
					mine[t], taken[t] = p, true
				}
			}
			if !yield(f, mine) {
				return
			}
		}
	}
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

func appendJSONList(b []byte, list []string) []byte {
	q, _ := json.Marshal(list)
	return append(b, q...)
}

func sortedEntries(pos map[string]message.Position) []position.Entry {
	out := make([]position.Entry, 0, len(pos))
	for t, p := range pos {
		out = append(out, position.Entry{Topic: t, Pos: p})
	}
	slices.SortFunc(out, func(a, b position.Entry) int { return strings.Compare(a.Topic, b.Topic) })
	return out
}
