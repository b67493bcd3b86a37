package router

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// topicState is the live sequence of one topic. Its mutex serializes
// everything that must see the topic's stream as a whole: sequence
// assignment, fan-out and history append in Publish, and the history read
// plus subscription in Subscribe.
type topicState struct {
	mu    sync.Mutex
	name  string
	ready bool // epoch and seq initialised (lazily, by the first locker)
	dead  bool // evicted and removed from the map: lockers must look again
	epoch string
	seq   uint64 // last assigned; 0 before the first publish of the epoch
	// active is the last time the state was used (publish, Position,
	// resume); eviction waits idleGrace after it.
	active time.Time
}

// lockState returns the state of name, created if needed, locked and
// initialised. The caller must unlock st.mu.
func (r *Router) lockState(name string) *topicState {
	for {
		v, ok := r.topics.Load(name)
		if !ok {
			// Clone: the map must not pin a larger string (a decoded
			// frame) that name was cut from.
			key := strings.Clone(name)
			var loaded bool
			v, loaded = r.topics.LoadOrStore(key, &topicState{name: key, active: r.now()})
			if !loaded {
				r.ntopics.Add(1)
			}
		}
		st := v.(*topicState)
		st.mu.Lock()
		if st.dead {
			st.mu.Unlock()
			continue
		}
		if !st.ready {
			r.initState(st)
		}
		return st
	}
}

// initState gives st its epoch. If the history still holds messages for
// the topic (a persistent store after a restart), the topic's stream goes
// on from the newest of them; otherwise a new epoch starts at Seq 0. Called
// with st.mu held.
func (r *Router) initState(st *topicState) {
	var last *message.Message
	r.history.Since(st.name, 0, func(m *message.Message) { last = m })
	if last != nil && last.Epoch != "" {
		st.epoch, st.seq = last.Epoch, last.Seq
	} else {
		st.epoch, st.seq = newEpoch(), 0
	}
	st.ready = true
}

// newEpoch returns a fresh random epoch: 72 bits, 12 URL-safe characters
// (no ':' or '/', so it can sit in an SSE id or a header as it is).
// Randomness rather than a counter or clock makes epochs differ across
// restarts and nodes without any coordination.
func newEpoch() string {
	var b [9]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand.Read panics instead)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Position returns topic's current position: its epoch and last assigned
// Seq (0 if nothing was published in this epoch). It creates the topic's
// state if needed, so the epoch returned is the one the next publish will
// use, unless the state is evicted first (after idleGrace without use and
// with nothing in history). An invalid name yields the zero Position.
func (r *Router) Position(name string) message.Position {
	if topic.ValidName(name) != nil {
		return message.Position{}
	}
	st := r.lockState(name)
	st.active = r.now()
	p := message.Position{Epoch: st.epoch, Seq: st.seq}
	st.mu.Unlock()
	return p
}

// Peek returns topic's current position without creating its state: ok
// is false for a topic with no live state (nothing published, or evicted),
// whose position is the zero Position. Resuming from the zero Position
// replays whatever the current epoch holds, so a client may keep it as
// its starting point; Peek costs an idle subscriber no state per topic.
func (r *Router) Peek(name string) (message.Position, bool) {
	v, ok := r.topics.Load(name)
	if !ok {
		return message.Position{}, false
	}
	st := v.(*topicState)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.dead || !st.ready {
		return message.Position{}, false
	}
	return message.Position{Epoch: st.epoch, Seq: st.seq}, true
}
