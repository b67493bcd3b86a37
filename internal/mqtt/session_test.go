package mqtt

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
)

func persistent(ver byte) func(*packets.Packet) {
	return func(pk *packets.Packet) {
		pk.Connect.Clean = false
		if ver == 5 {
			pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 300, true
		}
	}
}

// publishAcked publishes and waits for the acknowledgement, so that the
// message has been routed (and queued for every subscriber) on return.
func (cl *client) publishAcked(topic string, qos byte, pid uint16, payload string) {
	cl.t.Helper()
	cl.publish(topic, qos, false, pid, payload, nil)
	switch qos {
	case 0:
		cl.ping()
	case 1:
		cl.expect(packets.Puback)
	case 2:
		cl.expect(packets.Pubrec)
		cl.ack(packets.Pubrel, pid)
		cl.expect(packets.Pubcomp)
	}
}

// TestRedeliveryOnReconnect: unacknowledged QoS 1 messages are resent with
// DUP and their packet identifier, a QoS 2 message past PUBREC gets its
// PUBREL again, and what was published meanwhile follows.
func TestRedeliveryOnReconnect(t *testing.T) {
	for _, ver := range []byte{4, 5} {
		t.Run(fmt.Sprint("v", ver), func(t *testing.T) {
			ts := newTestServer(t, core.Hooks{}, Options{})
			p := ts.dial(t, ver)
			p.connect("p", true, nil)

			s := ts.dial(t, ver)
			if ack := s.connect("s", false, persistent(ver)); ack.SessionPresent {
				t.Fatal("session present on a first connection")
			}
			s.subscribe(1, nil, sub("t", 2))
			p.publishAcked("t", 1, 1, "one")
			p.publishAcked("t", 2, 2, "two")
			one := s.expect(packets.Publish)
			two := s.expect(packets.Publish)
			s.ack(packets.Pubrec, two.PacketID)
			s.expect(packets.Pubrel)
			s.c.Close() // neither PUBACK for one nor PUBCOMP for two
			ts.waitOffline(t, "s")

			p.publishAcked("t", 1, 3, "three")
			s = ts.dial(t, ver)
			if ack := s.connect("s", false, persistent(ver)); !ack.SessionPresent || ack.ReasonCode != 0 {
				t.Fatalf("CONNACK present=%v 0x%02x, want the session back", ack.SessionPresent, ack.ReasonCode)
			}
			again := s.expect(packets.Publish)
			if again.PacketID != one.PacketID || !again.FixedHeader.Dup || string(again.Payload) != "one" {
				t.Fatalf("resent %q id %d dup %v, want one id %d with DUP", again.Payload, again.PacketID, again.FixedHeader.Dup, one.PacketID)
			}
			if rel := s.expect(packets.Pubrel); rel.PacketID != two.PacketID {
				t.Fatalf("PUBREL %d, want %d", rel.PacketID, two.PacketID)
			}
			three := s.expect(packets.Publish)
			if string(three.Payload) != "three" || three.FixedHeader.Dup {
				t.Fatalf("then %q dup %v", three.Payload, three.FixedHeader.Dup)
			}
			s.ack(packets.Puback, one.PacketID)
			s.ack(packets.Pubcomp, two.PacketID)
			s.ack(packets.Puback, three.PacketID)
			s.ping()

			// Once acknowledged, nothing is resent.
			s.c.Close()
			s = ts.dial(t, ver)
			s.connect("s", false, persistent(ver))
			s.ping()
		})
	}
}

// TestQoS2ExactlyOnceAcrossReconnects: the publisher loses its connection
// after PUBLISH and after PUBREC; resending the same packet on the resumed
// session does not publish it again.
func TestQoS2ExactlyOnceAcrossReconnects(t *testing.T) {
	ts := newTestServer(t, core.Hooks{}, Options{})
	s := ts.dial(t, 5)
	s.connect("s", true, nil)
	s.subscribe(1, nil, sub("t", 1))
	p := ts.dial(t, 5)
	p.connect("p", false, persistent(5))
	p.publish("t", 2, false, 42, "once", nil)
	p.expect(packets.Pubrec)
	p.c.Close()
	p = ts.dial(t, 5)
	p.connect("p", false, persistent(5))
	p.publish("t", 2, false, 42, "once", func(pk *packets.Packet) { pk.FixedHeader.Dup = true })
	p.expect(packets.Pubrec)
	p.ack(packets.Pubrel, 42)
	if comp := p.expect(packets.Pubcomp); comp.ReasonCode != 0 {
		t.Fatalf("PUBCOMP 0x%02x", comp.ReasonCode)
	}
	p.publishAcked("t", 1, 43, "after")
	for _, want := range []string{"once", "after"} {
		got := s.expect(packets.Publish)
		if string(got.Payload) != want {
			t.Fatalf("got %q, want %q", got.Payload, want)
		}
		s.ack(packets.Puback, got.PacketID)
	}
	s.ping()
}

func TestCleanStartDiscardsSession(t *testing.T) {
	ts := newTestServer(t, core.Hooks{}, Options{})
	s := ts.dial(t, 4)
	s.connect("s", false, nil)
	s.subscribe(1, nil, sub("t", 1))
	s.c.Close()
	s = ts.dial(t, 4)
	if ack := s.connect("s", true, nil); ack.SessionPresent {
		t.Fatal("clean session reported a session present")
	}
	p := ts.dial(t, 4)
	p.connect("p", true, nil)
	p.publishAcked("t", 1, 1, "x")
	s.ping() // the old subscription is gone
}

func TestTakeover(t *testing.T) {
	for _, ver := range []byte{4, 5} {
		t.Run(fmt.Sprint("v", ver), func(t *testing.T) {
			ts := newTestServer(t, core.Hooks{}, Options{})
			first := ts.dial(t, ver)
			first.connect("same", false, persistent(ver))
			first.subscribe(1, nil, sub("t", 1))
			second := ts.dial(t, ver)
			if ack := second.connect("same", false, persistent(ver)); !ack.SessionPresent {
				t.Fatal("takeover did not resume the session")
			}
			got := first.expectClosed()
			if ver == 5 && (len(got) != 1 || got[0].FixedHeader.Type != packets.Disconnect || got[0].ReasonCode != codeSessionTakenOver) {
				t.Fatalf("first connection got %v, want DISCONNECT 0x8E", got)
			}
			if ver == 4 && len(got) != 0 {
				t.Fatalf("3.1.1 first connection got %d packets, want a plain close", len(got))
			}
			p := ts.dial(t, ver)
			p.connect("p", true, nil)
			p.publishAcked("t", 1, 1, "to the new one")
			if m := second.expect(packets.Publish); string(m.Payload) != "to the new one" {
				t.Fatalf("got %q", m.Payload)
			}
		})
	}
}

func TestReceiveMaximumFlowControl(t *testing.T) {
	ts := newTestServer(t, core.Hooks{}, Options{})
	s := ts.dial(t, 5)
	s.connect("s", true, func(pk *packets.Packet) { pk.Properties.ReceiveMaximum = 2 })
	s.subscribe(1, nil, sub("t", 1))
	p := ts.dial(t, 5)
	p.connect("p", true, nil)
	for i := range 5 {
		p.publishAcked("t", 1, uint16(i+1), fmt.Sprint(i))
	}
	var got []string
	a := s.expect(packets.Publish)
	b := s.expect(packets.Publish)
	got = append(got, string(a.Payload), string(b.Payload))
	s.ping() // the window is full: a third PUBLISH would have come first
	s.ack(packets.Puback, a.PacketID)
	c := s.expect(packets.Publish)
	got = append(got, string(c.Payload))
	s.ping()
	s.ack(packets.Puback, b.PacketID)
	s.ack(packets.Puback, c.PacketID)
	for range 2 {
		m := s.expect(packets.Publish)
		got = append(got, string(m.Payload))
		s.ack(packets.Puback, m.PacketID)
	}
	if want := []string{"0", "1", "2", "3", "4"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q in order", got, want)
	}
}

func TestMaximumPacketSizeOutbound(t *testing.T) {
	ts := newTestServer(t, core.Hooks{}, Options{})
	s := ts.dial(t, 5)
	s.connect("s", true, func(pk *packets.Packet) { pk.Properties.MaximumPacketSize = 40 })
	s.subscribe(1, nil, sub("t", 1))
	p := ts.dial(t, 5)
	p.connect("p", true, nil)
	p.publishAcked("t", 1, 1, string(make([]byte, 100))) // too large for s: dropped [MQTT-3.1.2-28]
	p.publishAcked("t", 1, 2, "small")
	if m := s.expect(packets.Publish); string(m.Payload) != "small" {
		t.Fatalf("got %d bytes, want the small one only", len(m.Payload))
	}
}

func TestV5SubscriptionOptions(t *testing.T) {
	ts := newTestServer(t, core.Hooks{}, Options{})
	s := ts.dial(t, 5)
	s.connect("s", true, nil)
	// Two overlapping subscriptions with identifiers: one copy, both ids.
	s.subscribe(1, func(pk *packets.Packet) { pk.Properties.SubscriptionIdentifier = []int{7} }, sub("a/#", 0))
	s.subscribe(2, func(pk *packets.Packet) { pk.Properties.SubscriptionIdentifier = []int{9} }, sub("a/b", 1))
	// No Local: the session's own messages do not come back on it.
	s.subscribe(3, nil, packets.Subscription{Filter: "mine", Qos: 1, NoLocal: true})
	s.publishAcked("mine", 1, 10, "own")
	o := ts.dial(t, 5)
	o.connect("o", true, nil)
	o.publishAcked("a/b", 1, 1, "both")
	o.publishAcked("mine", 1, 2, "other's")
	m := s.expect(packets.Publish)
	if string(m.Payload) != "both" || m.FixedHeader.Qos != 1 || !slices.Equal(sortedInts(m.Properties.SubscriptionIdentifier), []int{7, 9}) {
		t.Fatalf("got %q qos %d ids %v, want one copy at QoS 1 with ids 7 and 9", m.Payload, m.FixedHeader.Qos, m.Properties.SubscriptionIdentifier)
	}
	s.ack(packets.Puback, m.PacketID)
	if m := s.expect(packets.Publish); string(m.Payload) != "other's" {
		t.Fatalf("got %q: No Local let the session's own message through", m.Payload)
	} else {
		s.ack(packets.Puback, m.PacketID)
	}
	s.ping()
}

func sortedInts(v []int) []int { v = slices.Clone(v); slices.Sort(v); return v }

func TestRetainedHandling(t *testing.T) {
	ts := newTestServer(t, core.Hooks{}, Options{})
	p := ts.dial(t, 5)
	p.connect("p", true, nil)
	p.publish("r", 1, true, 1, "kept", nil)
	p.expect(packets.Puback)

	s := ts.dial(t, 5)
	s.connect("s", true, nil)
	// Retain Handling 2: nothing at subscribe.
	s.subscribe(1, nil, packets.Subscription{Filter: "r", Qos: 1, RetainHandling: 2})
	s.ping()
	// Retain Handling 1: only for a new subscription (this one exists).
	s.subscribe(2, nil, packets.Subscription{Filter: "r", Qos: 1, RetainHandling: 1})
	s.ping()
	// Retain Handling 0: every time, with RETAIN set.
	s.subscribe(3, nil, packets.Subscription{Filter: "r", Qos: 1, RetainHandling: 0})
	m := s.expect(packets.Publish)
	if string(m.Payload) != "kept" || !m.FixedHeader.Retain {
		t.Fatalf("got %q retain %v", m.Payload, m.FixedHeader.Retain)
	}
	s.ack(packets.Puback, m.PacketID)
	// Live retained messages: RETAIN 0 unless Retain As Published.
	p.publishAcked("r", 1, 2, "x") // plain, to check the flag
	p.publish("r", 1, true, 3, "live", nil)
	p.expect(packets.Puback)
	for _, want := range []string{"x", "live"} {
		m := s.expect(packets.Publish)
		if string(m.Payload) != want || m.FixedHeader.Retain {
			t.Fatalf("got %q retain %v, want %q without RETAIN", m.Payload, m.FixedHeader.Retain, want)
		}
		s.ack(packets.Puback, m.PacketID)
	}
	s.subscribe(4, nil, packets.Subscription{Filter: "r", Qos: 1, RetainHandling: 2, RetainAsPublished: true})
	p.publish("r", 1, true, 4, "as published", nil)
	p.expect(packets.Puback)
	if m := s.expect(packets.Publish); !m.FixedHeader.Retain {
		t.Fatal("Retain As Published cleared RETAIN")
	} else {
		s.ack(packets.Puback, m.PacketID)
	}
	// 3.1.1: retained on subscribe with RETAIN 1, cleared by an empty one.
	v4 := ts.dial(t, 4)
	v4.connect("v4", true, nil)
	v4.subscribe(1, nil, sub("r", 0))
	if m := v4.expect(packets.Publish); string(m.Payload) != "as published" || !m.FixedHeader.Retain {
		t.Fatalf("3.1.1 got %q retain %v", m.Payload, m.FixedHeader.Retain)
	}
	p.publish("r", 1, true, 5, "", nil)
	p.expect(packets.Puback)
	if m := v4.expect(packets.Publish); len(m.Payload) != 0 {
		t.Fatalf("the clearing message should be delivered, got %q", m.Payload)
	}
	late := ts.dial(t, 4)
	late.connect("late", true, nil)
	late.subscribe(1, nil, sub("r", 0))
	late.ping() // nothing retained any more
}

func TestSharedSubscription(t *testing.T) {
	ts := newTestServer(t, core.Hooks{}, Options{})
	var members []*client
	for i := range 2 {
		m := ts.dial(t, 5)
		m.connect(fmt.Sprint("m", i), true, nil)
		m.subscribe(1, nil, sub("$share/g/jobs/+", 1))
		members = append(members, m)
	}
	all := ts.dial(t, 5)
	all.connect("all", true, nil)
	all.subscribe(1, nil, sub("jobs/+", 0))
	p := ts.dial(t, 5)
	p.connect("p", true, nil)
	for i := range 4 {
		p.publishAcked("jobs/x", 1, uint16(i+1), fmt.Sprint(i))
	}
	var got []string
	for _, m := range members {
		for range 2 { // round robin: two each
			pk := m.expect(packets.Publish)
			got = append(got, string(pk.Payload))
			m.ack(packets.Puback, pk.PacketID)
		}
		m.ping()
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"0", "1", "2", "3"}) {
		t.Fatalf("group got %q, want each message once", got)
	}
	for i := range 4 {
		if m := all.expect(packets.Publish); string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("plain subscriber got %q", m.Payload)
		}
	}
}

func TestTopicAliasInbound(t *testing.T) {
	ts := newTestServer(t, core.Hooks{}, Options{})
	s := ts.dial(t, 5)
	s.connect("s", true, nil)
	s.subscribe(1, nil, sub("long/topic/name", 0))
	p := ts.dial(t, 5)
	ack := p.connect("p", true, nil)
	if ack.Properties.TopicAliasMaximum != 64 {
		t.Fatalf("Topic Alias Maximum %d", ack.Properties.TopicAliasMaximum)
	}
	alias := func(pk *packets.Packet) { pk.Properties.TopicAlias, pk.Properties.TopicAliasFlag = 5, true }
	p.publish("long/topic/name", 0, false, 0, "first", alias)
	p.publish("", 0, false, 0, "second", alias)
	p.ping()
	for _, want := range []string{"first", "second"} {
		if m := s.expect(packets.Publish); m.TopicName != "long/topic/name" || string(m.Payload) != want {
			t.Fatalf("got %s %q", m.TopicName, m.Payload)
		}
	}
}

func TestConnackProperties(t *testing.T) {
	ts := newTestServer(t, core.Hooks{}, Options{MaxKeepAlive: 20 * time.Second, MaxSessionExpiry: time.Hour})
	cl := ts.dial(t, 5)
	ack := cl.connect("", true, func(pk *packets.Packet) {
		pk.Connect.Keepalive = 0
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 0xFFFFFFFF, true
	})
	p := ack.Properties
	switch {
	case ack.ReasonCode != 0:
		t.Fatalf("CONNACK 0x%02x", ack.ReasonCode)
	case p.AssignedClientID == "":
		t.Error("no Assigned Client Identifier for an empty one")
	case !p.ServerKeepAliveFlag || p.ServerKeepAlive != 20:
		t.Errorf("Server Keep Alive %v %d, want 20", p.ServerKeepAliveFlag, p.ServerKeepAlive)
	case !p.SessionExpiryIntervalFlag || p.SessionExpiryInterval != 3600:
		t.Errorf("Session Expiry %v %d, want the cap 3600", p.SessionExpiryIntervalFlag, p.SessionExpiryInterval)
	case p.MaximumPacketSize == 0 || p.ReceiveMaximum != 1024:
		t.Errorf("Maximum Packet Size %d, Receive Maximum %d", p.MaximumPacketSize, p.ReceiveMaximum)
	}
}

func TestKeepAlive(t *testing.T) {
	ts := newTestServer(t, core.Hooks{}, Options{})
	cl := ts.dial(t, 5)
	cl.connect("ka", true, func(pk *packets.Packet) { pk.Connect.Keepalive = 1 })
	// Silent for 1.5 s: the server disconnects (the sweeper checks each
	// second, so within about 2.5 s).
	got := cl.expectClosed()
	if len(got) != 1 || got[0].FixedHeader.Type != packets.Disconnect || got[0].ReasonCode != codeKeepAliveTimeout {
		t.Fatalf("got %v, want DISCONNECT 0x8D", got)
	}
}

func TestWillDelay(t *testing.T) {
	ts := newTestServer(t, core.Hooks{}, Options{})
	w := ts.dial(t, 5)
	w.connect("watcher", true, nil)
	w.subscribe(1, nil, sub("will/#", 0))
	withWill := func(topic string, delay, expiry uint32) func(*packets.Packet) {
		return func(pk *packets.Packet) {
			pk.Connect.Clean = false
			pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillPayload = true, topic, []byte(topic)
			pk.Connect.WillProperties.WillDelayInterval = delay
			pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = expiry, true
		}
	}
	// A delayed will is not sent when the client is back in time.
	a := ts.dial(t, 5)
	a.connect("a", false, withWill("will/a", 60, 300))
	a.c.Close()
	a = ts.dial(t, 5)
	a.connect("a", false, withWill("will/a", 60, 300))
	// A session that ends with its connection sends its will at once,
	// whatever the delay.
	b := ts.dial(t, 5)
	b.connect("b", false, withWill("will/b", 60, 0))
	b.c.Close()
	if m := w.expect(packets.Publish); m.TopicName != "will/b" {
		t.Fatalf("got the will of %s", m.TopicName)
	}
	// An empty will payload is a valid will.
	c := ts.dial(t, 4)
	c.connect("c", true, func(pk *packets.Packet) { pk.Connect.WillFlag, pk.Connect.WillTopic = true, "will/c" })
	c.c.Close()
	if m := w.expect(packets.Publish); m.TopicName != "will/c" || len(m.Payload) != 0 {
		t.Fatalf("got %s %q", m.TopicName, m.Payload)
	}
	// A DISCONNECT with reason 0x04 asks for the will.
	d := ts.dial(t, 5)
	d.connect("d", true, func(pk *packets.Packet) { pk.Connect.WillFlag, pk.Connect.WillTopic = true, "will/d" })
	d.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}, ProtocolVersion: 5, ReasonCode: codeDisconnectWithWill})
	if m := w.expect(packets.Publish); m.TopicName != "will/d" {
		t.Fatalf("got %s", m.TopicName)
	}
	w.ping()
}

func TestOrderedDelivery(t *testing.T) {
	ts := newTestServer(t, core.Hooks{}, Options{})
	s := ts.dial(t, 4)
	s.connect("s", true, nil)
	s.subscribe(1, nil, sub("o", 1))
	p := ts.dial(t, 4)
	p.connect("p", true, nil)
	const n = 300
	for i := range n {
		p.publish("o", 1, false, uint16(i+1), fmt.Sprint(i), nil)
	}
	for i := range n {
		p.expect(packets.Puback)
		m := s.expect(packets.Publish)
		if string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("message %d is %q", i, m.Payload)
		}
		s.ack(packets.Puback, m.PacketID)
	}
}

func TestExpiry(t *testing.T) {
	now := time.Now()
	m := newMsg("t", now.Add(-3*time.Second))
	md := meta{qos: 1, expiry: 10}
	if expired(m, md, now) || remainingExpiry(m, md, now) != 7 {
		t.Fatalf("expired %v remaining %d, want 7 left", expired(m, md, now), remainingExpiry(m, md, now))
	}
	if !expired(m, meta{expiry: 3}, now) || expired(m, meta{}, now) {
		t.Fatal("an interval that has passed must expire; none must not")
	}
}

func newMsg(topic string, at time.Time) *message.Message {
	return &message.Message{Topic: topic, Time: at}
}

// waitOffline waits until the server has seen the connection of session
// id end (polling the session's state, which only the server changes).
func (ts *testServer) waitOffline(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ts.a.mu.Lock()
		ss := ts.a.sessions[id]
		ts.a.mu.Unlock()
		if ss != nil && !ss.online.Load() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("session %s still online", id)
}

// TestAllocPIDSkipsInUse: identifiers go round, skipping 0 and any still
// in flight however old.
func TestAllocPIDSkipsInUse(t *testing.T) {
	ss := newSession(nil, "x")
	stuck := ss.allocPID() // 1, never acknowledged
	ss.inflight.pushBack(outMsg{pid: stuck})
	seen := map[uint16]bool{}
	for range 3 * 65535 {
		id := ss.allocPID()
		if id == 0 || id == stuck {
			t.Fatalf("handed out %d", id)
		}
		ss.inflight.pushBack(outMsg{pid: id})
		if seen[id] && ss.findPID(id) != ss.inflight.len()-1 {
			t.Fatalf("%d handed out while in flight", id)
		}
		seen[id] = true
		ss.inflight.remove(1) // acknowledged at once; the stuck one stays first
	}
}

// TestQoSAcrossReconnects: a persistent subscriber whose connection drops
// again and again, with messages unacknowledged at each drop, gets every
// QoS 1 message at least once and every QoS 2 message exactly once. It
// keeps a QoS 2 receiver's state (identifiers received, not yet released)
// across connections, as the protocol asks of a client.
func TestQoSAcrossReconnects(t *testing.T) {
	for _, ver := range []byte{4, 5} {
		t.Run(fmt.Sprint("v", ver), func(t *testing.T) {
			const n = 150
			ts := newTestServer(t, core.Hooks{}, Options{})
			s := ts.dial(t, ver)
			s.connect("flaky", false, persistent(ver))
			s.subscribe(1, nil, sub("q/+", 2))
			pubDone := make(chan error, 1)
			go func() {
				p := ts.dial(t, ver)
				p.connect("steady", true, nil)
				for i := range n {
					for qos := byte(1); qos <= 2; qos++ {
						pid := uint16(2*i + int(qos))
						p.publish(fmt.Sprint("q/", qos), qos, false, pid, fmt.Sprint(qos, "-", i), nil)
						want := byte(packets.Puback)
						if qos == 2 {
							want = packets.Pubrec
						}
						pk, err := p.next(10 * time.Second)
						if err != nil || pk.FixedHeader.Type != want {
							pubDone <- fmt.Errorf("publisher: %v %v", pk, err)
							return
						}
						if qos == 2 {
							p.ack(packets.Pubrel, pid)
							if pk, err := p.next(10 * time.Second); err != nil || pk.FixedHeader.Type != packets.Pubcomp {
								pubDone <- fmt.Errorf("publisher: %v %v", pk, err)
								return
							}
						}
					}
				}
				pubDone <- nil
			}()

			seen := map[string]int{}
			unreleased := map[uint16]bool{} // QoS 2 identifiers received, PUBREL not yet
			packetsSeen := 0
			complete := func() bool { return len(seen) == 2*n && len(unreleased) == 0 }
			for !complete() {
				pk, err := s.next(10 * time.Second)
				if err != nil {
					t.Fatal(err)
				}
				packetsSeen++
				switch pk.FixedHeader.Type {
				case packets.Publish:
					if pk.FixedHeader.Qos == 1 {
						seen[string(pk.Payload)]++
						if packetsSeen%5 != 0 { // now and then, no PUBACK
							s.ack(packets.Puback, pk.PacketID)
						}
					} else {
						if !unreleased[pk.PacketID] {
							seen[string(pk.Payload)]++
							unreleased[pk.PacketID] = true
						}
						s.ack(packets.Pubrec, pk.PacketID)
					}
				case packets.Pubrel:
					delete(unreleased, pk.PacketID)
					s.ack(packets.Pubcomp, pk.PacketID)
				}
				if packetsSeen%37 == 0 {
					// An abrupt drop, with acknowledgements owed and
					// whatever was in flight lost; then back, same session.
					s.c.Close()
					s = ts.dial(t, ver)
					if ack := s.connect("flaky", false, persistent(ver)); !ack.SessionPresent {
						t.Fatal("the session was lost")
					}
				}
			}
			if err := <-pubDone; err != nil {
				t.Fatal(err)
			}
			for i := range n {
				if c := seen[fmt.Sprint(1, "-", i)]; c < 1 {
					t.Errorf("QoS 1 message %d never arrived", i)
				}
				if c := seen[fmt.Sprint(2, "-", i)]; c != 1 {
					t.Errorf("QoS 2 message %d arrived %d times", i, c)
				}
			}
		})
	}
}
