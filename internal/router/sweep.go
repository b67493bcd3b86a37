package router

import (
	"math"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

const (
	// sweepInterval is how often expired history is trimmed and idle
	// topic states are evicted. Replay also filters by age itself, so this
	// bounds memory, not correctness.
	sweepInterval = time.Second
	// idleGrace is how long a topic state must go unused (no publish, no
	// Position, no resume) before it can be evicted. It keeps the epoch
	// stable for a client that just asked for a Position and for topics
	// published to regularly without history.
	idleGrace = time.Minute
)

// sweeper runs sweep every interval until Close.
func (r *Router) sweeper(interval time.Duration) {
	defer close(r.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.sweep(r.now())
			if r.afterSweep != nil {
				r.afterSweep()
			}
		}
	}
}

// sweep trims history to its age limit, then evicts every topic state that
// has been idle for idleGrace and whose history is empty.
//
// Evicting forgets the topic's epoch and sequence: the next publish starts
// a new epoch at Seq 1, and a client resuming from a position in the old
// epoch is told so with a Reset Gap. Nothing replayable is lost by this,
// since history held nothing; what is lost is the ability to say "you
// missed nothing", which is why subscriptions do not keep a state alive:
// topics with a catch-all subscriber ('#') would otherwise never be freed.
func (r *Router) sweep(now time.Time) {
	r.history.Trim(now)
	r.topics.Range(func(_, v any) bool {
		st := v.(*topicState)
		st.mu.Lock()
		if !st.dead && now.Sub(st.active) >= idleGrace && r.history.Since(st.name, math.MaxUint64, noop) == 0 {
			st.dead = true
			r.topics.CompareAndDelete(st.name, st)
			r.ntopics.Add(-1)
			r.history.Drop(st.name)
		}
		st.mu.Unlock()
		return true
	})
}

func noop(*message.Message) {}
