package emulate

import (
	"slices"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
)

// session is one emulated session on this node: the live core session
// and who is listening for its messages (a held poll or a stream).
type session struct {
	m  *Manager
	id string

	mu       sync.Mutex
	cs       *core.Session
	lastSeen time.Time
	polls    int           // polls in progress
	replaced chan struct{} // closed to release the held poll when a newer one or a stream arrives
	consumer *consumer     // the attached stream
	sent     uint64        // highest message number queued to the consumer
	ended    bool
	code     uint16
	reason   string
	expired  bool
	dropped  bool     // the client ended it: nothing will fetch the log
	subs     []string // last subscriptions written to the store
}

// Accept implements core.Sink: the session's outbound messages enter the
// log, and a stream, if one is attached, gets them at once. It runs on
// the core's flush.
func (ss *session) Accept(msgs [][]byte) int {
	st := ss.m.cfg.Store
	n, err := st.Append(ss.id, msgs)
	if err != nil {
		return len(msgs) // the log is gone (the session is ending): nobody will read these
	}
	if n == 0 {
		return 0
	}
	if pos := positionsOf(msgs[:n]); len(pos) > 0 {
		st.SetPositions(ss.id, pos)
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.cs != nil {
		if subs := ss.cs.Subscriptions(); !slices.Equal(subs, ss.subs) {
			ss.subs = subs
			st.SetSubscriptions(ss.id, subs)
		}
	}
	ss.pushLocked()
	return n
}

// Closed implements core.Sink: the core session has ended (expired,
// closed by the client, slow consumer, server shutdown). The log stays
// for one last poll, which gets the messages left and the end.
func (ss *session) Closed(code uint16, reason string) {
	if ss.m.suspend(ss, code, reason) {
		return // kept in the store for the next run (takeover.go)
	}
	ss.mu.Lock()
	ss.ended, ss.code, ss.reason = true, code, reason
	expired, dropped := ss.expired, ss.dropped
	con := ss.consumer
	ss.mu.Unlock()
	ss.m.cfg.Store.End(ss.id, code, reason)
	ss.m.ended(ss, code, reason, expired, !dropped)
	if dropped {
		ss.m.cfg.Store.Delete(ss.id)
	}
	if con != nil {
		con.end(code, reason)
	}
}

// ack drops what the client has seen from the log; room in the log lets
// the core flush what waits in the session's queue.
func (ss *session) ack(upto uint64) error {
	if upto == 0 {
		return nil
	}
	n, err := ss.m.cfg.Store.Ack(ss.id, upto)
	if err != nil {
		return err
	}
	ss.mu.Lock()
	cs := ss.cs
	ss.mu.Unlock()
	if n > 0 && cs != nil {
		cs.OnWritable()
	}
	return nil
}

// touch records a request.
func (ss *session) touch() {
	now := ss.m.cfg.Now()
	ss.mu.Lock()
	if now.After(ss.lastSeen) {
		ss.lastSeen = now
	}
	ss.mu.Unlock()
	ss.m.cfg.Store.Touch(ss.id, now)
}

// expireIfIdle ends the session if it has had no request for the
// session timeout at now and nothing is listening.
func (ss *session) expireIfIdle(now time.Time) {
	ss.mu.Lock()
	idle := !ss.ended && !ss.expired && ss.polls == 0 && ss.consumer == nil &&
		now.Sub(ss.lastSeen) > ss.m.cfg.SessionTimeout
	if idle {
		ss.expired = true
	}
	cs := ss.cs
	ss.mu.Unlock()
	if idle && cs != nil {
		cs.CloseWith(core.CloseGoingAway, "session expired")
	}
}

// wrapped is the session's protocol with the emulation's ticker on top.
type wrapped struct {
	inner core.Adapter
	ss    *session
}

func (w wrapped) Protocols() []string { return w.inner.Protocols() }

func (w wrapped) Open(s *core.Session) core.Protocol {
	return &proto{Protocol: w.inner.Open(s), ss: w.ss}
}

type proto struct {
	core.Protocol
	ss *session
}

// Deliver passes publications to the protocol.
func (p *proto) Deliver(m *message.Message) {
	if d, ok := p.Protocol.(core.Deliverer); ok {
		d.Deliver(m)
	}
}

// Tick checks the session's expiry (with the manager's clock, which
// tests inject) and passes the tick on.
func (p *proto) Tick(now time.Time) {
	at := p.ss.m.cfg.Now()
	p.ss.expireIfIdle(at)
	p.ss.m.prune(at)
	if t, ok := p.Protocol.(core.Ticker); ok {
		t.Tick(now)
	}
}
