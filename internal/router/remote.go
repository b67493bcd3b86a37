package router

import (
	"context"
	"time"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// ingest takes a message the broker delivers with ID 0: one published on
// another node or, with a sequencing broker, any message of the cluster.
//
// Unsequenced (Seq 0), the message is placed in this router's own stream
// of its topic: it gets the next Seq of the topic's epoch here, is fanned
// out and recorded in history, exactly as a local publish but without
// going back to the broker. Every node's subscribers see a contiguous
// sequence per topic and resume from this node's history with no gap;
// positions are per node, and a client resuming on another node is told
// plainly (a Gap with Reset).
//
// Sequenced (Seq set by the cluster), the topic's state takes the
// message's Seq and Epoch, which mean the same on every node; a message
// already held (same epoch, Seq not above the state's) is dropped, so a
// redelivery is harmless.
//
// Invalid names are dropped (the origin validated them; a corrupt or
// foreign publish must not reach subscribers), as is anything after Close.
func (r *Router) ingest(m *message.Message) {
	if r.closed.Load() || topic.ValidName(m.Topic) != nil {
		return
	}
	st := r.lockState(m.Topic)
	defer st.mu.Unlock()
	if m.Seq == 0 {
		m.Seq, m.Epoch = st.seq+1, st.epoch
	} else if m.Epoch == st.epoch && m.Seq <= st.seq {
		return
	}
	m.ID = r.nextID.Add(1)
	m.Time = r.now()
	st.seq, st.epoch = m.Seq, m.Epoch
	st.active = m.Time
	r.fanout(m)
	r.history.Append(m)
	r.received.Add(1)
}

// publishSequenced is Publish with a sequencing broker: the broker stamps
// Seq and Epoch and the message comes back through ingest, like every
// other node's, so this node's subscribers see the topic in the cluster's
// order. m itself is not delivered (a copy is); it keeps its stamps so
// the caller learns its position.
func (r *Router) publishSequenced(ctx context.Context, m *message.Message) error {
	m.ID = r.nextID.Add(1)
	m.Time = r.now()
	if err := r.broker.Publish(ctx, m); err != nil {
		m.ID, m.Seq, m.Epoch, m.Time = 0, 0, "", time.Time{}
		return err
	}
	r.published.Add(1)
	return nil
}

// catchUpWait bounds how long a resume waits for this node to receive
// what the client saw elsewhere.
const catchUpWait = 2 * time.Second

// catchUp waits, before a resume, until this node has received the
// messages up to each position, when the cluster has them: a client that
// saw Seq 7 on another node and comes here a moment before this node got
// Seq 7 would otherwise be told its position does not exist (a reset).
// It asks the cluster only for positions this node has not reached, and
// gives up after catchUpWait (then the resume reports what it must).
func (r *Router) catchUp(names []string, since map[string]message.Position) {
	deadline := time.Now().Add(catchUpWait)
	for _, name := range names {
		pos := since[name]
		if pos.IsZero() || r.reached(name, pos) {
			continue
		}
		seq, epoch, ok := r.sequencer.TopicTail(name)
		if !ok || epoch != pos.Epoch || seq < pos.Seq {
			continue // the cluster has no such position: a real reset
		}
		for pause := time.Millisecond; !r.reached(name, pos) && time.Now().Before(deadline); pause = min(2*pause, 50*time.Millisecond) {
			time.Sleep(pause) // the stream's republish is on its way
		}
	}
}

// reached reports whether the topic's state here is at or past pos.
func (r *Router) reached(name string, pos message.Position) bool {
	st := r.lockState(name)
	defer st.mu.Unlock()
	return st.epoch == pos.Epoch && st.seq >= pos.Seq
}
