package mqtt

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/durable"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/router"
	"github.com/heraldhq/herald/internal/store"
)

// durableServer is a test server whose sessions and retained messages
// live in a store in dir; stop shuts it down cleanly, as a restart does.
type durableServer struct {
	*testServer
	db   *durable.DB
	stop func()
}

func newDurableServer(t *testing.T, dir string, kv func(*durable.DB) store.KV) *durableServer {
	t.Helper()
	db, err := durable.Open(dir, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ret, err := store.NewFileRetained(db, 100, 1<<20, PersistKeys...)
	if err != nil {
		t.Fatal(err)
	}
	var k store.KV = db
	if kv != nil {
		k = kv(db)
	}
	ts, stop := serveAdapter(t, router.New(router.Options{}), core.Hooks{}, Options{SysInterval: -1, Store: k, Retained: ret}, func() {
		if err := db.Close(); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	return &durableServer{testServer: ts, db: db, stop: stop}
}

// A persistent session's subscriptions, queued messages, in-flight QoS 2
// state and inbound QoS 2 identifiers come back after a restart, and so
// do retained messages.
func TestPersistentSessionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	srv := newDurableServer(t, dir, nil)
	s := srv.dial(t, 4)
	s.connect("sub", false, nil)
	s.subscribe(1, nil, sub("x", 2), sub("y", 1))
	p := srv.dial(t, 4)
	p.connect("pub", false, nil)

	// One QoS 2 delivery half done: PUBREC sent, PUBREL received, no
	// PUBCOMP yet.
	p.publish("x", 2, false, 1, "half", nil)
	p.expect(packets.Pubrec)
	p.ack(packets.Pubrel, 1)
	p.expect(packets.Pubcomp)
	half := s.expect(packets.Publish)
	s.ack(packets.Pubrec, half.PacketID)
	s.expect(packets.Pubrel)
	s.c.Close()

	// Queued while the subscriber is away, acknowledged after durable.
	p.publish("y", 1, false, 2, "q1", nil)
	p.expect(packets.Puback)
	p.publish("x", 2, false, 3, "q2", nil)
	p.expect(packets.Pubrec) // no PUBREL yet: the identifier stays held
	p.publish("r", 1, true, 4, "kept", nil)
	p.expect(packets.Puback)
	srv.stop()

	srv = newDurableServer(t, dir, nil)
	p = srv.dial(t, 4)
	if ack := p.connect("pub", false, nil); !ack.SessionPresent {
		t.Fatal("publisher's session not present after restart")
	}
	// The resent QoS 2 PUBLISH is recognised: not published again.
	p.publish("x", 2, false, 3, "q2", func(pk *packets.Packet) { pk.FixedHeader.Dup = true })
	p.expect(packets.Pubrec)
	p.ack(packets.Pubrel, 3)
	p.expect(packets.Pubcomp)

	s = srv.dial(t, 4)
	if ack := s.connect("sub", false, nil); !ack.SessionPresent {
		t.Fatal("subscriber's session not present after restart")
	}
	rel := s.expect(packets.Pubrel) // the half-done QoS 2 flow resumes with its PUBREL
	if rel.PacketID != half.PacketID {
		t.Fatalf("PUBREL for %d, want %d", rel.PacketID, half.PacketID)
	}
	s.ack(packets.Pubcomp, rel.PacketID)
	var got []string
	for range 2 {
		pk := s.expect(packets.Publish)
		got = append(got, string(pk.Payload))
		if pk.FixedHeader.Qos == 1 {
			s.ack(packets.Puback, pk.PacketID)
		} else {
			s.ack(packets.Pubrec, pk.PacketID)
			s.expect(packets.Pubrel)
			s.ack(packets.Pubcomp, pk.PacketID)
		}
	}
	if got[0] != "q1" || got[1] != "q2" {
		t.Fatalf("after restart got %q, want [q1 q2]", got)
	}
	s.ping() // nothing more: q2 came once

	// The subscription itself survived: a new publish reaches it.
	p.publish("y", 1, false, 5, "live", nil)
	p.expect(packets.Puback)
	if pk := s.expect(packets.Publish); string(pk.Payload) != "live" {
		t.Fatalf("got %q", pk.Payload)
	}

	r := srv.dial(t, 4)
	r.connect("", true, nil)
	r.subscribe(1, nil, sub("r", 1))
	if pk := r.expect(packets.Publish); string(pk.Payload) != "kept" || !pk.FixedHeader.Retain {
		t.Fatalf("retained after restart: %q retain=%v", pk.Payload, pk.FixedHeader.Retain)
	}
}

// An in-flight QoS 1 message is resent with DUP after a restart.
func TestInflightResentWithDup(t *testing.T) {
	dir := t.TempDir()
	srv := newDurableServer(t, dir, nil)
	s := srv.dial(t, 5)
	s.connect("sub", false, func(pk *packets.Packet) {
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 600, true
	})
	s.subscribe(1, nil, sub("t", 1))
	p := srv.dial(t, 5)
	p.connect("pub", true, nil)
	p.publish("t", 1, false, 1, "m", nil)
	p.expect(packets.Puback)
	first := s.expect(packets.Publish)
	if first.FixedHeader.Dup {
		t.Fatal("first delivery has DUP")
	}
	srv.stop() // no PUBACK from the subscriber

	srv = newDurableServer(t, dir, nil)
	s = srv.dial(t, 5)
	s.connect("sub", false, func(pk *packets.Packet) {
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 600, true
	})
	again := s.expect(packets.Publish)
	if !again.FixedHeader.Dup || again.PacketID != first.PacketID || string(again.Payload) != "m" {
		t.Fatalf("resent dup=%v pid=%d %q, want DUP, pid %d", again.FixedHeader.Dup, again.PacketID, again.Payload, first.PacketID)
	}
	s.ack(packets.Puback, again.PacketID)
	s.ping()
}

// A clean session, or one whose expiry is 0, leaves nothing behind.
func TestCleanSessionNotKept(t *testing.T) {
	dir := t.TempDir()
	srv := newDurableServer(t, dir, nil)
	s := srv.dial(t, 4)
	s.connect("a", false, nil)
	s.subscribe(1, nil, sub("t", 1))
	s.c.Close()
	s = srv.dial(t, 4)
	s.connect("a", true, nil) // clean: the persistent session ends
	s.ping()
	srv.stop()
	db, err := durable.Open(dir, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, b := range []string{bucketSession, bucketMsg, bucketState, bucketRx} {
		db.Scan(b, func(k, _ []byte) error {
			t.Errorf("%s still holds %q", b, k)
			return nil
		})
	}
}

// heldKV is a store whose barriers wait for the test.
type heldKV struct {
	*durable.DB
	mu    sync.Mutex
	held  []func(error)
	ready chan struct{}
}

func (h *heldKV) Barrier(done func(error)) {
	h.mu.Lock()
	h.held = append(h.held, done)
	h.mu.Unlock()
	select {
	case h.ready <- struct{}{}:
	default:
	}
}

func (h *heldKV) release(err error) {
	h.mu.Lock()
	held := h.held
	h.held = nil
	h.mu.Unlock()
	for _, f := range held {
		h.DB.Barrier(func(e error) { f(errors.Join(e, err)) })
	}
}

// PUBACK waits for the store, and what the client asked after it waits
// behind it: acknowledgements stay in order.
func TestAckWaitsForStore(t *testing.T) {
	h := &heldKV{ready: make(chan struct{}, 16)}
	srv := newDurableServer(t, t.TempDir(), func(db *durable.DB) store.KV { h.DB = db; return h })
	// A persistent subscriber, so that publications to t are written.
	s := srv.dial(t, 4)
	s.connect("sub", false, nil)
	s.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe}, ProtocolVersion: 4, PacketID: 1, Filters: packets.Subscriptions{sub("t", 1)}})
	<-h.ready
	h.release(nil)
	s.expect(packets.Suback)
	p := srv.dial(t, 4)
	p.connect("pub", false, nil)
	p.publish("t", 1, false, 7, "m", nil)
	p.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	<-h.ready
	if pk, err := p.next(100 * time.Millisecond); err == nil {
		t.Fatalf("got %s before the store was durable", packetName(pk.FixedHeader.Type))
	}
	h.release(nil)
	if pk := p.expect(packets.Puback); pk.PacketID != 7 {
		t.Fatalf("PUBACK %d", pk.PacketID)
	}
	p.expect(packets.Pingresp)

	// A failed store: no acknowledgement, the connection ends.
	p.publish("t", 1, false, 8, "m", nil)
	<-h.ready
	h.release(errors.New("disk gone"))
	for _, pk := range p.expectClosed() {
		if pk.FixedHeader.Type == packets.Puback {
			t.Fatal("PUBACK despite the store failing")
		}
	}
}

// A shared subscription of a persistent session is back after a restart
// and receives the group's messages while its client is away.
func TestSharedSubscriptionRestored(t *testing.T) {
	dir := t.TempDir()
	srv := newDurableServer(t, dir, nil)
	s := srv.dial(t, 5)
	s.connect("member", false, func(pk *packets.Packet) {
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 600, true
	})
	s.subscribe(1, nil, sub("$share/g/jobs", 1))
	srv.stop()

	srv = newDurableServer(t, dir, nil)
	p := srv.dial(t, 5)
	p.connect("pub", true, nil)
	p.publish("jobs", 1, false, 1, "j1", nil)
	p.expect(packets.Puback)
	s = srv.dial(t, 5)
	s.connect("member", false, func(pk *packets.Packet) {
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 600, true
	})
	if pk := s.expect(packets.Publish); string(pk.Payload) != "j1" {
		t.Fatalf("got %q", pk.Payload)
	}
}

// A session whose expiry ran out while the server was down is not
// restored, and its records are deleted.
func TestSessionExpiredWhileDown(t *testing.T) {
	dir := t.TempDir()
	db, err := durable.Open(dir, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gone := &session{id: "old", expiry: 60, subs: []*subscription{{filter: "t", qos: 1}}}
	db.Put(bucketSession, []byte("old"), gone.appendRecord(nil, time.Now().Add(-time.Hour)))
	m := outMsg{m: &message.Message{Topic: "t", Data: []byte("x")}, qos: 1}
	db.Put(bucketMsg, msgKey("old", 1), outRecord(&m))
	kept := &session{id: "new", expiry: 7200, subs: []*subscription{{filter: "t", qos: 1}}}
	db.Put(bucketSession, []byte("new"), kept.appendRecord(nil, time.Now().Add(-time.Hour)))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	srv := newDurableServer(t, dir, nil)
	for id, want := range map[string]bool{"old": false, "new": true} {
		c := srv.dial(t, 4)
		if ack := c.connect(id, false, nil); ack.SessionPresent != want {
			t.Fatalf("session %s present = %v, want %v", id, ack.SessionPresent, want)
		}
	}
	srv.db.Wait()
	n := 0
	srv.db.Scan(bucketMsg, func(k, _ []byte) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d message records of the expired session left", n)
	}
}

// A publication that writes nothing (no persistent session matches it)
// is acknowledged without waiting for a commit.
func TestAckWithoutWritesIsImmediate(t *testing.T) {
	h := &heldKV{ready: make(chan struct{}, 16)}
	srv := newDurableServer(t, t.TempDir(), func(db *durable.DB) store.KV { h.DB = db; return h })
	s := srv.dial(t, 4)
	s.connect("clean-sub", true, nil)
	s.subscribe(1, nil, sub("t", 1)) // a clean session: its SUBACK waits for nothing
	p := srv.dial(t, 4)
	p.connect("pub", true, nil)
	p.publish("t", 1, false, 7, "m", nil)
	if pk := p.expect(packets.Puback); pk.PacketID != 7 {
		t.Fatalf("PUBACK %d", pk.PacketID)
	}
	s.expect(packets.Publish)
	if len(h.ready) != 0 {
		t.Fatal("a barrier was asked for though nothing was written")
	}
}
