package mqtt

import (
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
)

// localShares stands in for the cluster's consumers (broker.Shares,
// tested against NATS in internal/cluster): the test hands messages to
// the joined group and sees how each is settled.
type localShares struct {
	mu      sync.Mutex
	joins   map[string]func(*message.Message, func(bool))
	online  map[string]func() bool
	leaves  int
	settled chan settled
}

type settled struct {
	data string
	ok   bool
}

func newLocalShares() *localShares {
	return &localShares{joins: map[string]func(*message.Message, func(bool)){}, online: map[string]func() bool{}, settled: make(chan settled, 16)}
}

func (s *localShares) Join(key, filter string, deliver func(*message.Message, func(bool)), online func() bool) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.joins[key+" "+filter] = deliver
	s.online[key] = online
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.joins, key+" "+filter)
		s.leaves++
	}
}

// give hands the group a message from the cluster.
func (s *localShares) give(t *testing.T, group, data string) {
	t.Helper()
	s.mu.Lock()
	deliver := s.joins[group]
	s.mu.Unlock()
	if deliver == nil {
		t.Fatalf("no part of %q on this node", group)
	}
	m := &message.Message{Topic: "jobs/x", Data: []byte(data), Time: time.Now()}
	deliver(m, func(ok bool) { s.settled <- settled{data, ok} })
}

func (s *localShares) expectSettled(t *testing.T, data string, ok bool) {
	t.Helper()
	select {
	case got := <-s.settled:
		if got.data != data || got.ok != ok {
			t.Fatalf("settled %+v, want %s %v", got, data, ok)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s never settled", data)
	}
}

func (s *localShares) expectUnsettled(t *testing.T) {
	t.Helper()
	select {
	case got := <-s.settled:
		t.Fatalf("%+v settled too early", got)
	default:
	}
}

// TestClusterGroupSettles: a cluster group's message is settled when the
// member is done with it (QoS 0: sent; QoS 1: PUBACK; QoS 2: PUBREC),
// given back when the member's session ends first, and the group is not
// also a router subscriber (no second, local delivery).
func TestClusterGroupSettles(t *testing.T) {
	sh := newLocalShares()
	ts := newTestServer(t, core.Hooks{}, Options{Shares: sh})
	const g1, g0, g2 = "$share/g/jobs/+ jobs/+", "$share/z/jobs/+ jobs/+", "$share/two/jobs/+ jobs/+"
	m1 := ts.dial(t, 5)
	m1.connect("m1", true, nil)
	m1.subscribe(1, nil, sub("$share/g/jobs/+", 1))
	m0 := ts.dial(t, 4)
	m0.connect("m0", true, nil)
	m0.subscribe(1, nil, sub("$share/z/jobs/+", 0))
	m2 := ts.dial(t, 5)
	m2.connect("m2", true, nil)
	m2.subscribe(1, nil, sub("$share/two/jobs/+", 2))

	// A local publish reaches the groups only through the cluster.
	p := ts.dial(t, 5)
	p.connect("p", true, nil)
	p.publishAcked("jobs/x", 1, 1, "local")
	m1.expectNothing()
	m0.expectNothing()

	sh.give(t, g0, "q0")
	if pk := m0.expect(packets.Publish); string(pk.Payload) != "q0" {
		t.Fatalf("got %q", pk.Payload)
	}
	sh.expectSettled(t, "q0", true)

	sh.give(t, g1, "q1")
	pk := m1.expect(packets.Publish)
	sh.expectUnsettled(t)
	m1.ack(packets.Puback, pk.PacketID)
	sh.expectSettled(t, "q1", true)

	sh.give(t, g2, "q2")
	pk = m2.expect(packets.Publish)
	sh.expectUnsettled(t)
	m2.ack(packets.Pubrec, pk.PacketID)
	sh.expectSettled(t, "q2", true)
	m2.expect(packets.Pubrel)
	m2.ack(packets.Pubcomp, pk.PacketID)

	// Unacknowledged when the session ends: given back.
	sh.mu.Lock()
	late := sh.joins[g1]
	sh.mu.Unlock()
	sh.give(t, g1, "lost")
	m1.expect(packets.Publish)
	m1.c.Close()
	sh.expectSettled(t, "lost", false)

	// The last member gone, the node leaves the group.
	deadline := time.Now().Add(5 * time.Second)
	for {
		sh.mu.Lock()
		_, joined := sh.joins[g1]
		sh.mu.Unlock()
		if !joined {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the node did not leave the group of an ended session")
		}
		time.Sleep(10 * time.Millisecond) // polling the group's state
	}
	// A message this node fetched before it left is given back.
	late(&message.Message{Topic: "jobs/x", Data: []byte("late")}, func(ok bool) { sh.settled <- settled{"late", ok} })
	sh.expectSettled(t, "late", false)
	sh.mu.Lock()
	online := sh.online["$share/z/jobs/+"]
	sh.mu.Unlock()
	if !online() {
		t.Fatal("group z has a connected member: online must say so")
	}
}
