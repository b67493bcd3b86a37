package mqtt

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/broker"
	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/durable"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/router"
)

// stalledBroker is the router's broker as a cluster node sees it while the
// cluster's stream has not acknowledged a publish yet: Publish to topic
// "stalled" returns only once release is closed.
type stalledBroker struct {
	broker.Memory
	prefix  string // if set, publishes to topics under it stall instead
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (b *stalledBroker) Publish(ctx context.Context, m *message.Message) error {
	if m.Topic == "stalled" && b.prefix == "" || b.prefix != "" && strings.HasPrefix(m.Topic, b.prefix) {
		b.once.Do(func() { close(b.entered) })
		<-b.release
	}
	return b.Memory.Publish(ctx, m)
}

// TestPublishWaitingForTheClusterHoldsNoCommit: on a node with a data
// directory whose router delivers later (DeliversLater, a cluster's
// stream), a publish waiting for the stream's acknowledgement does not
// hold the store's atomic section: another session's SUBSCRIBE, whose
// SUBACK goes out only once the subscription is committed, is answered
// meanwhile. (With the section held across routing, the commit, and so
// the SUBACK, would wait for the stalled publish.)
func TestPublishWaitingForTheClusterHoldsNoCommit(t *testing.T) {
	db, err := durable.Open(t.TempDir(), durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	br := &stalledBroker{entered: make(chan struct{}), release: make(chan struct{})}
	released := false
	srv, _ := serveAdapter(t, router.New(router.Options{Broker: br}), core.Hooks{}, Options{SysInterval: -1, Store: db, DeliversLater: true}, func() {
		if err := db.Close(); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	t.Cleanup(func() { // before the server stops (cleanups run last first)
		if !released {
			close(br.release)
		}
	})

	other := srv.dial(t, 4) // 3.1.1 clean session 0: a stored session
	other.connect("other", false, nil)
	pub := srv.dial(t, 4)
	pub.connect("pub", false, nil)
	pub.publish("stalled", 2, false, 7, "waiting", nil)
	<-br.entered // the publish waits for "the stream"

	// Another session's write commits, and is acknowledged, meanwhile.
	// (The publish is still waiting: the broker holds it until release.)
	if ack := other.subscribe(1, nil, sub("stalled", 2)); ack.ReasonCodes[0] != 2 {
		t.Fatalf("SUBACK %v", ack.ReasonCodes)
	}

	close(br.release)
	released = true
	if rec := pub.expect(packets.Pubrec); rec.PacketID != 7 || rec.ReasonCode >= 0x80 {
		t.Fatalf("PUBREC %d 0x%02x", rec.PacketID, rec.ReasonCode)
	}
	// The QoS 2 identifier is held (and was committed before the PUBREC):
	// a resent PUBLISH is not published again.
	pub.publish("stalled", 2, false, 7, "waiting", func(pk *packets.Packet) { pk.FixedHeader.Dup = true })
	pub.expect(packets.Pubrec)
	pub.ack(packets.Pubrel, 7)
	pub.expect(packets.Pubcomp)
	got := other.expect(packets.Publish)
	if string(got.Payload) != "waiting" {
		t.Fatalf("delivered %q", got.Payload)
	}
	other.ack(packets.Pubrec, got.PacketID)
	other.expect(packets.Pubrel)
	other.ack(packets.Pubcomp, got.PacketID)
	other.expectNothing() // once: the resend was not published again
	var rx int
	if err := db.Scan(bucketRx, func(_, _ []byte) error { rx++; return nil }); err != nil || rx != 0 {
		t.Fatalf("rx records after PUBCOMP: %d, %v", rx, err)
	}
}

// TestCloseDoesNotWaitForAStalledSysPublish: a cluster node stopping
// without a majority has its $SYS publish waiting for the stream (until
// the broker closes, after the adapter): Close does not wait for it.
func TestCloseDoesNotWaitForAStalledSysPublish(t *testing.T) {
	br := &stalledBroker{prefix: "$SYS/", entered: make(chan struct{}), release: make(chan struct{})}
	r := router.New(router.Options{Broker: br})
	defer r.Close()
	c := core.New(core.Config{Router: r, CloseTimeout: time.Second})
	a, err := Open(c, Options{SysInterval: time.Hour, DeliversLater: true})
	if err != nil {
		t.Fatal(err)
	}
	<-br.entered // the first $SYS publish waits
	closed := make(chan struct{})
	go func() {
		a.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(30 * time.Second): // a hang guard, not a timing
		close(br.release) // let everything end
		t.Fatal("Close waits for a $SYS publish that waits for the cluster")
	}
	close(br.release) // the broker's close ends it on a node
	<-a.done          // and the timed work stops: no more $SYS publishes
}
