package router

import (
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// ingest places a message published on another node (the broker hands it
// over unstamped, ID 0) in this router's own stream of its topic: it gets
// the next Seq of the topic's epoch here, is fanned out and recorded in
// history, exactly as a local publish but without going back to the
// broker. So every node's subscribers see a contiguous sequence per topic
// and resume from this node's history with no gap; positions are
// per-node (each node has its own epoch per topic), and a client resuming
// on another node is told plainly (a Gap with Reset).
//
// Invalid names are dropped (the origin validated them; a corrupt or
// foreign publish must not reach subscribers), as is anything after Close.
func (r *Router) ingest(m *message.Message) {
	if r.closed.Load() || topic.ValidName(m.Topic) != nil {
		return
	}
	st := r.lockState(m.Topic)
	defer st.mu.Unlock()
	m.ID = r.nextID.Add(1)
	m.Seq, m.Epoch, m.Time = st.seq+1, st.epoch, r.now()
	st.seq = m.Seq
	st.active = m.Time
	r.fanout(m)
	r.history.Append(m)
	r.received.Add(1)
}
