package mqtt

import "github.com/heraldhq/herald/internal/message"

// Shares serves share groups for a cluster (broker.Shares implements
// it): Join makes this node one of the group's consumers, and deliver
// gets the messages the cluster gives this node, each to hand to one
// member and settle with done exactly once: true when the message is
// handled (sent at QoS 0, acknowledged by the client, or dropped), false
// to give it back to the group (the member's session ended before the
// client had it). online reports whether a member is connected here.
type Shares interface {
	Join(key, filter string, deliver func(m *message.Message, done func(ok bool)), online func() bool) (leave func())
}

// serveCluster makes g one node's part of a cluster-wide group, instead
// of a router subscriber (so the node does not also deliver the topic's
// messages to the group itself); a.gmu is held.
func (a *Adapter) serveCluster(g *group) {
	g.leaveCluster = a.opts.Shares.Join(g.key, g.filter, func(m *message.Message, done func(bool)) {
		a.tickets.Store(m, done)
		if !g.pick(m) {
			a.settle(m, false) // no member here any more
		}
	}, g.online)
}

// settle tells the cluster that this node is done with m, a message of a
// cluster group: delivered (ok) or given back. Messages of a single node,
// or settled already, are no-ops.
func (a *Adapter) settle(m *message.Message, ok bool) {
	if a.opts.Shares == nil || m == nil {
		return
	}
	if done, found := a.tickets.LoadAndDelete(m); found {
		done.(func(bool))(ok)
	}
}

// settleAll gives back what an ended session still held (ss.mu held).
func (ss *session) settleAllLocked() {
	a := ss.a
	if a.opts.Shares == nil {
		return
	}
	for i := range ss.inflight.len() {
		a.settle(ss.inflight.at(i).m, false)
	}
	for i := range ss.pending.len() {
		a.settle(ss.pending.at(i).m, false)
	}
	for _, h := range ss.held {
		a.settle(h.m, false)
	}
}
