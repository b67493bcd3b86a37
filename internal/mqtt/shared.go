package mqtt

import (
	"sync"

	"github.com/heraldhq/herald/internal/message"
)

// group is a shared subscription, $share/{name}/{filter}: the router's
// subscriber for the filter, it gives each message to one member session
// (§4.8.2), at the QoS that member was granted [MQTT-4.8.2-3], round
// robin, preferring members whose client is connected (a persistent
// member that is away queues QoS 1 and 2 messages only when no member is
// connected).
type group struct {
	key    string // "$share/name/filter"
	filter string

	mu      sync.Mutex
	members []member
	next    int

	// leaveCluster ends this node's part of a cluster-wide group
	// (sharecluster.go); nil for a node's own group.
	leaveCluster func()
}

type member struct {
	ss  *session
	sub *subscription
}

// Deliver implements router.Subscriber.
func (g *group) Deliver(m *message.Message) { g.pick(m) }

// pick offers m to one member; it reports false if there is none.
func (g *group) pick(m *message.Message) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := len(g.members)
	if n == 0 {
		return false
	}
	pick := g.next % n
	for i := range n {
		if j := (g.next + i) % n; g.members[j].ss.online.Load() {
			pick = j
			break
		}
	}
	g.next = (pick + 1) % n
	mb := g.members[pick]
	mb.ss.deliverShared(m, mb.sub)
	return true
}

// online reports whether a member's client is connected.
func (g *group) online() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, mb := range g.members {
		if mb.ss.online.Load() {
			return true
		}
	}
	return false
}

// join adds (or updates) the session's shared subscription sub; it
// reports false when the session has ended or the router refused.
func (a *Adapter) join(ss *session, sub *subscription) bool {
	a.gmu.Lock()
	defer a.gmu.Unlock()
	g := a.groups[sub.share]
	if g == nil {
		g = &group{key: sub.share, filter: sub.filter}
		if a.opts.Shares != nil {
			a.serveCluster(g)
		} else if err := a.core.Router().Subscribe(g, sub.filter, nil, nil); err != nil {
			return false
		}
		a.groups[sub.share] = g
	}
	sub.group = g
	ss.mu.Lock()
	if ss.ended {
		ss.mu.Unlock()
		a.dropGroupIfEmpty(g)
		return false
	}
	existed := false
	for i, s := range ss.shared {
		if s.share == sub.share {
			ss.shared[i], existed = sub, true
		}
	}
	if !existed {
		ss.shared = append(ss.shared, sub)
	}
	ss.mu.Unlock()
	g.mu.Lock()
	replaced := false
	for i := range g.members {
		if g.members[i].ss == ss {
			g.members[i].sub, replaced = sub, true
		}
	}
	if !replaced {
		g.members = append(g.members, member{ss, sub})
	}
	g.mu.Unlock()
	if !existed {
		a.subs.Add(1)
	}
	return true
}

// leave removes the session from the shared subscription share; it
// reports whether the session had it.
func (a *Adapter) leave(ss *session, share string) bool {
	a.gmu.Lock()
	defer a.gmu.Unlock()
	found := false
	ss.mu.Lock()
	for i, s := range ss.shared {
		if s.share == share {
			ss.shared = append(ss.shared[:i], ss.shared[i+1:]...)
			found = true
			break
		}
	}
	ss.mu.Unlock()
	g := a.groups[share]
	if g == nil {
		return found
	}
	g.mu.Lock()
	for i := range g.members {
		if g.members[i].ss == ss {
			g.members = append(g.members[:i], g.members[i+1:]...)
			break
		}
	}
	g.mu.Unlock()
	a.dropGroupIfEmpty(g)
	return found
}

// dropGroupIfEmpty removes a group without members; a.gmu is held.
func (a *Adapter) dropGroupIfEmpty(g *group) {
	g.mu.Lock()
	empty := len(g.members) == 0
	g.mu.Unlock()
	if empty && a.groups[g.key] == g {
		delete(a.groups, g.key)
		if g.leaveCluster != nil {
			g.leaveCluster()
			return
		}
		a.core.Router().Unsubscribe(g, g.filter)
	}
}
