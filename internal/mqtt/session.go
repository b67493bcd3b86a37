package mqtt

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// subscription is one topic filter of a session with its options.
type subscription struct {
	filter   string // the topic filter, without a $share/ prefix
	share    string // the whole "$share/group/filter" of a shared subscription
	group    *group
	qos      byte // the granted QoS
	noLocal  bool
	rap      bool // retain as published
	handling byte // retain handling
	id       int  // subscription identifier; 0: none
}

// outMsg is a QoS 1 or 2 message on its way to the client: queued, or in
// flight until acknowledged.
type outMsg struct {
	m      *message.Message
	ids    []int // 5.0 subscription identifiers
	pid    uint16
	qos    byte
	retain bool
	sent   bool   // transmitted before: a resend carries DUP
	wire   bool   // transmitted on the current connection
	rel    bool   // PUBREC received and PUBREL sent: awaiting PUBCOMP
	seq    uint64 // its records in the store (persist.go); 0: none
}

// heldMsg is a publication that arrived while a SUBSCRIBE was being set
// up (see session.subscribe).
type heldMsg struct {
	m   *message.Message
	sub *subscription // a shared group's choice; nil: match the session's subscriptions
}

// session is an MQTT session: what a client identifier owns on the
// server, which may outlive its connections. It is the router's
// subscriber for its non-shared subscriptions, so publications reach it,
// and are queued for it, whether or not its client is connected.
type session struct {
	a      *Adapter
	id     string      // client identifier
	online atomic.Bool // a connection is attached (read without mu by shared groups)

	mu       sync.Mutex
	conn     *conn
	ended    bool
	expiry   uint32 // seconds the session outlives its connection
	subs     []*subscription
	shared   []*subscription
	pubIDs   [2]string // core session ids of its latest connections (no-local)
	window   int       // QoS 1/2 messages that may be unacknowledged on the wire
	inflight deque[outMsg]
	wire     int // inflight entries sent on the current connection
	unsent   int // inflight entries to (re)send on the current connection
	pending  deque[outMsg]
	nextPID  uint16
	rx       map[uint16]struct{} // inbound QoS 2 packet identifiers awaiting PUBREL
	holding  bool
	held     []heldMsg
	will     *will  // a delayed will while the session is offline
	seq      uint64 // last message record number (persist.go)
	stored   bool   // the store holds a record of the session
	stream   uint64 // highest cluster stream sequence offered (cluster.go)
	replayed uint64 // stream sequence up to which a takeover replayed (cluster.go)
	cl       *clusterSession
}

func newSession(a *Adapter, id string) *session { return &session{a: a, id: id} }

// Deliver implements router.Subscriber: it runs under the router's locks,
// so it only queues.
func (ss *session) Deliver(m *message.Message) {
	ss.mu.Lock()
	ss.deliverLocked(m)
	ss.mu.Unlock()
}

// deliverLocked offers m once, with the options of all the session's
// matching subscriptions combined: the highest QoS and every subscription
// identifier [MQTT-3.3.4-3] [MQTT-3.3.4-4]. Subscriptions with No Local
// do not match the session's own messages [MQTT-3.8.3-3].
func (ss *session) deliverLocked(m *message.Message) {
	if ss.ended {
		return
	}
	if ss.holding {
		ss.hold(heldMsg{m: m})
		return
	}
	if m.Stream != 0 && m.Stream <= ss.replayed {
		return // replayed when the session came from another node
	}
	own := m.Publisher != "" && (m.Publisher == ss.pubIDs[0] || m.Publisher == ss.pubIDs[1])
	var qos byte
	var ids []int
	matched, rap := false, false
	for _, sub := range ss.subs {
		if (own && sub.noLocal) || !topic.Match(sub.filter, m.Topic) {
			continue
		}
		matched = true
		qos = max(qos, sub.qos)
		rap = rap || sub.rap
		if sub.id > 0 {
			ids = append(ids, sub.id)
		}
	}
	if matched {
		// The RETAIN flag is 0 on messages for established subscriptions
		// (3.1.1 [MQTT-3.3.1-9]), unless Retain As Published (5.0
		// [MQTT-3.3.1-12] [MQTT-3.3.1-13]).
		ss.offerLocked(m, qos, rap && m.Retain, ids)
	}
}

// deliverShared offers m for one shared subscription of the session.
func (ss *session) deliverShared(m *message.Message, sub *subscription) {
	ss.mu.Lock()
	ss.deliverSharedLocked(m, sub)
	ss.mu.Unlock()
}

func (ss *session) deliverSharedLocked(m *message.Message, sub *subscription) {
	if ss.ended {
		ss.a.settle(m, false)
		return
	}
	if ss.holding {
		ss.hold(heldMsg{m: m, sub: sub})
		return
	}
	var ids []int
	if sub.id > 0 {
		ids = []int{sub.id}
	}
	ss.offerLocked(m, sub.qos, sub.rap && m.Retain, ids)
}

func (ss *session) hold(h heldMsg) {
	if len(ss.held) >= ss.a.opts.MaxQueued {
		ss.a.m.dropped.Inc()
		ss.a.settle(h.m, true)
		return
	}
	ss.held = append(ss.held, h)
}

// offerLocked sends m at the lower of the subscription's and the
// message's QoS [MQTT-3.8.4-8], or queues it.
func (ss *session) offerLocked(m *message.Message, qos byte, retain bool, ids []int) {
	ss.stream = max(ss.stream, m.Stream)
	md := metaOf(m)
	qos = min(qos, md.qos)
	if md.expiry > 0 && expired(m, md, time.Now()) { // the clock only when needed
		ss.a.m.dropped.Inc()
		ss.a.settle(m, true)
		return
	}
	c := ss.conn
	if qos == 0 {
		if c != nil {
			c.sendPublish(m, 0, retain, false, 0, ids)
		}
		ss.a.settle(m, true)
		return // a disconnected client's QoS 0 messages are not kept
	}
	e := outMsg{m: m, ids: ids, qos: qos, retain: retain}
	if c != nil && ss.pending.len() == 0 && ss.unsent == 0 && ss.wire < ss.window && ss.inflight.len() < 65535 {
		ss.sendNewLocked(c, e)
		return
	}
	if ss.pending.len() >= ss.a.opts.MaxQueued {
		ss.a.m.dropped.Inc()
		ss.a.settle(m, true)
		return
	}
	ss.keepLocked(&e)
	ss.pending.pushBack(e)
}

// sendNewLocked gives e a packet identifier, puts it in flight and sends
// it. A message too large for the client is dropped as if sent
// [MQTT-3.1.2-28].
func (ss *session) sendNewLocked(c *conn, e outMsg) {
	if !c.fits(e.m, e.qos, e.retain, e.ids) {
		ss.a.m.tooLarge.Inc()
		ss.a.settle(e.m, true)
		ss.forgetLocked(&e)
		return
	}
	if e.seq == 0 {
		ss.keepLocked(&e)
	}
	e.pid = ss.allocPID()
	e.sent, e.wire = true, true
	ss.inflight.pushBack(e)
	ss.markLocked(ss.inflight.at(ss.inflight.len() - 1))
	ss.wire++
	c.sendPublish(e.m, e.qos, e.retain, false, e.pid, e.ids)
}

// fillLocked sends what the window allows: first the in-flight messages
// not yet sent on this connection (resent with DUP, or their PUBREL
// [MQTT-4.4.0-1]), then queued ones, in order.
func (ss *session) fillLocked() {
	c := ss.conn
	if c == nil {
		return
	}
	for i := 0; ss.unsent > 0 && ss.wire < ss.window && i < ss.inflight.len(); i++ {
		e := ss.inflight.at(i)
		if e.wire {
			continue
		}
		e.wire = true
		ss.unsent--
		ss.wire++
		if e.rel {
			c.send(ackPacket(c.ver, pubrelType, e.pid, codeSuccess))
			continue
		}
		c.sendPublish(e.m, e.qos, e.retain, e.sent, e.pid, e.ids)
		e.sent = true
	}
	now := time.Now()
	for ss.unsent == 0 && ss.wire < ss.window && ss.pending.len() > 0 && ss.inflight.len() < 65535 {
		e := ss.pending.popFront()
		if expired(e.m, metaOf(e.m), now) {
			ss.a.m.dropped.Inc()
			ss.a.settle(e.m, true)
			ss.forgetLocked(&e)
			continue
		}
		ss.sendNewLocked(c, e)
	}
}

// allocPID returns a packet identifier no in-flight message uses
// [MQTT-2.2.1-4]; the caller ensures fewer than 65535 are in flight.
//
// Identifiers are handed out in order and the in-flight deque keeps that
// order, so every one in use lies between the oldest's and the last one
// handed out (going round): the next is free unless the sequence has come
// round to the oldest.
func (ss *session) allocPID() uint16 {
	for {
		ss.nextPID++
		if ss.nextPID == 0 {
			ss.nextPID = 1
		}
		if ss.inflight.len() == 0 || ss.nextPID != ss.inflight.at(0).pid {
			return ss.nextPID
		}
	}
}

// findPID returns the index of the in-flight message with pid, or -1.
func (ss *session) findPID(pid uint16) int {
	for i := range ss.inflight.len() {
		if ss.inflight.at(i).pid == pid {
			return i
		}
	}
	return -1
}

// completeLocked ends the flow of in-flight message i and fills the
// window it frees.
func (ss *session) completeLocked(i int) {
	if ss.inflight.at(i).wire {
		ss.wire--
	} else {
		ss.unsent--
	}
	ss.a.settle(ss.inflight.at(i).m, true)
	ss.forgetLocked(ss.inflight.at(i))
	ss.inflight.remove(i)
	ss.fillLocked()
}

// attachLocked makes c the session's connection: connack goes out first,
// then what was in flight and what was queued.
func (ss *session) attachLocked(c *conn, connack []byte) {
	ss.conn = c
	ss.online.Store(true)
	ss.window = c.window
	ss.pubIDs[0], ss.pubIDs[1] = c.s.Scope.SessionID, ss.pubIDs[0]
	ss.will = nil // a delayed will is not sent once the client is back [MQTT-3.1.2-26]
	c.send(connack)
	ss.fillLocked()
}

// detachLocked separates the session from its connection; what was in
// flight is resent on the next one.
func (ss *session) detachLocked() {
	ss.conn = nil
	ss.online.Store(false)
	for i := range ss.inflight.len() {
		if e := ss.inflight.at(i); e.wire {
			e.wire = false
			ss.unsent++
		}
	}
	ss.wire = 0
}

// expired reports whether m's Message Expiry Interval has passed
// [MQTT-3.3.2-5].
func expired(m *message.Message, md meta, now time.Time) bool {
	return md.expiry > 0 && now.Sub(m.Time) >= time.Duration(md.expiry)*time.Second
}

// remainingExpiry is the expiry interval to forward: what is left of it
// [MQTT-3.3.2-6].
func remainingExpiry(m *message.Message, md meta, now time.Time) uint32 {
	left := int64(md.expiry) - int64(now.Sub(m.Time)/time.Second)
	return uint32(max(left, 1))
}

// retireLocked removes ss from the registry and ends it; the caller holds
// a.mu and then calls cleanup.
func (a *Adapter) retireLocked(ss *session) {
	if a.sessions[ss.id] == ss {
		delete(a.sessions, ss.id)
	}
	delete(a.offline, ss)
	ss.mu.Lock()
	ss.ended = true
	ss.mu.Unlock()
}

// cleanup releases an ended session: its subscriptions, its queues, and
// a delayed will, which is due now that the session has ended.
func (a *Adapter) cleanup(ss *session) {
	ss.mu.Lock()
	ss.settleAllLocked() // a cluster gives them to another member
	ss.eraseLocked()
	subs, shared, w := ss.subs, ss.shared, ss.will
	ss.subs, ss.shared, ss.will = nil, nil, nil
	ss.inflight, ss.pending, ss.rx, ss.held = deque[outMsg]{}, deque[outMsg]{}, nil, nil
	ss.wire, ss.unsent = 0, 0
	ss.mu.Unlock()
	for _, sub := range subs {
		a.core.Router().Unsubscribe(ss, sub.filter)
		a.subs.Add(-1)
	}
	for _, sub := range shared {
		a.leave(ss, sub.share)
		a.subs.Add(-1)
	}
	a.publishWill(w)
}

// lost is called when c, the connection of ss, has ended, with c's will
// (nil after a normal DISCONNECT). The session ends with it, or waits
// for its client for its expiry interval; the will is published now or
// after its delay.
func (a *Adapter) lost(ss *session, c *conn, w *will) {
	now := time.Now()
	a.mu.Lock()
	ss.mu.Lock()
	mine := ss.conn == c
	if mine {
		ss.detachLocked()
	}
	ended, expiry := ss.ended, ss.expiry
	retire := mine && !ended && expiry == 0
	if mine && !ended && expiry > 0 {
		o := offline{expire: now.Add(time.Duration(expiry) * time.Second)}
		if w != nil && w.delay > 0 {
			o.will = now.Add(time.Duration(min(w.delay, expiry)) * time.Second)
			ss.will, w = w, nil
		}
		if a.sessions[ss.id] == ss {
			a.offline[ss] = o
			ss.saveLocked(now)
		}
	}
	ss.mu.Unlock()
	if retire {
		a.retireLocked(ss)
	}
	a.mu.Unlock()
	if retire {
		a.cleanup(ss)
	}
	if w == nil {
		return
	}
	if !mine && !ended && w.delay > 0 {
		// Taken over by a connection that resumed the session: a will
		// with a delay is not sent.
		return
	}
	a.publishWill(w)
}
