package mqtt

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// heldBroker is a cluster node's broker whose stream answers when the
// test says: PublishAsync holds each publish until complete; Publish
// (the synchronous path: wills, retained, QoS 2) goes through at once.
// events records, in order, "queued:", "stored:", "failed:" and "sync:"
// with each payload. (The real stream is in internal/broker's and
// cmd/herald's tests; this one lets the test choose the answers' order.)
type heldBroker struct {
	broker.Memory
	mu      sync.Mutex
	held    []heldPub
	open    int // held, not completed
	maxOpen int
	events  []string
	arrived chan struct{}
}

type heldPub struct {
	m    *message.Message
	done func(error)
}

func newHeldBroker() *heldBroker { return &heldBroker{arrived: make(chan struct{}, 1<<12)} }

func (b *heldBroker) Sequenced() bool                         { return true }
func (b *heldBroker) TopicTail(string) (uint64, string, bool) { return 0, "", false }

func (b *heldBroker) PublishAsync(m *message.Message, done func(error)) bool {
	b.mu.Lock()
	b.held = append(b.held, heldPub{m, done})
	b.open++
	b.maxOpen = max(b.maxOpen, b.open)
	b.events = append(b.events, "queued:"+string(m.Data))
	b.mu.Unlock()
	b.arrived <- struct{}{}
	return true
}

func (b *heldBroker) Publish(ctx context.Context, m *message.Message) error {
	b.mu.Lock()
	b.events = append(b.events, "sync:"+string(m.Data))
	b.mu.Unlock()
	return b.Memory.Publish(ctx, m)
}

// await waits until n async publishes have arrived in all.
func (b *heldBroker) await(t *testing.T, n int) {
	t.Helper()
	for {
		b.mu.Lock()
		have := len(b.held)
		b.mu.Unlock()
		if have >= n {
			return
		}
		select {
		case <-b.arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d async publishes arrived, want %d", have, n)
		}
	}
}

// complete gives held publish i its outcome.
func (b *heldBroker) complete(i int, err error) {
	b.mu.Lock()
	h := b.held[i]
	b.open--
	if err != nil {
		b.events = append(b.events, "failed:"+string(h.m.Data))
	} else {
		b.events = append(b.events, "stored:"+string(h.m.Data))
	}
	b.mu.Unlock()
	if err == nil {
		b.Memory.Publish(context.Background(), h.m)
	}
	h.done(err)
}

func (b *heldBroker) eventList() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.events)
}

// newClusterTestServer is newTestServer on a node whose router delivers
// later (DeliversLater) through br.
func newClusterTestServer(t *testing.T, br broker.Broker) *testServer {
	return newClusterTestServerWith(t, br, Options{})
}

func newClusterTestServerWith(t *testing.T, br broker.Broker, opts Options) *testServer {
	t.Helper()
	opts.SysInterval, opts.DeliversLater = -1, true
	ts, _ := serveAdapter(t, router.New(router.Options{Broker: br}), core.Hooks{}, opts, nil)
	return ts
}

// TestPipelinedPubacksKeepPublishOrder: a connection's QoS 0 and 1
// publishes are all in flight at once; the stream answers them out of
// order (different topics), one with a failure; the PUBACKs still leave
// in PUBLISH order [MQTT-4.6.0-2], the failed one with 0x80.
func TestPipelinedPubacksKeepPublishOrder(t *testing.T) {
	br := newHeldBroker()
	srv := newClusterTestServer(t, br)
	pub := srv.dial(t, 5)
	pub.connect("pub", true, nil)
	pub.publish("t/1", 1, false, 1, "a", nil)
	pub.publish("t/2", 1, false, 2, "b", nil)
	pub.publish("t/1", 0, false, 0, "c", nil)
	pub.publish("t/1", 1, false, 3, "d", nil)
	br.await(t, 4) // none answered, all four in flight
	if got, want := br.eventList(), []string{"queued:a", "queued:b", "queued:c", "queued:d"}; !slices.Equal(got, want) {
		t.Fatalf("queued %v, want %v", got, want)
	}
	br.complete(1, nil)
	br.complete(3, nil)
	br.complete(0, errors.New("stream unavailable"))
	br.complete(2, nil)
	for i, want := range []struct {
		pid  uint16
		code byte
	}{{1, codeUnspecified}, {2, codeSuccess}, {3, codeSuccess}} {
		ack := pub.expect(packets.Puback)
		if ack.PacketID != want.pid || ack.ReasonCode != want.code {
			t.Fatalf("PUBACK #%d: id %d code 0x%02x; want id %d code 0x%02x", i, ack.PacketID, ack.ReasonCode, want.pid, want.code)
		}
	}
	// A synchronous reply after them goes out in turn.
	pub.ping()
	// Retained and QoS 2 publishes and $-topics keep the synchronous path.
	pub.publish("t/1", 1, true, 4, "r", nil)
	pub.expect(packets.Puback)
	pub.publish("t/1", 2, false, 5, "q2", nil)
	pub.expect(packets.Pubrec)
	pub.publish("$app/x", 1, false, 6, "dollar", nil)
	pub.expect(packets.Puback)
	if got := br.eventList()[8:]; !slices.Equal(got, []string{"sync:r", "sync:q2", "sync:dollar"}) {
		t.Fatalf("events after the pipelined ones: %v", got)
	}
}

// TestPipelineWindowBoundsWhatIsInFlight: a publisher faster than the
// stream has at most pipeWindow publishes in flight; the rest wait on the
// connection (backpressure) and go once earlier ones are answered.
func TestPipelineWindowBoundsWhatIsInFlight(t *testing.T) {
	br := newHeldBroker()
	srv := newClusterTestServer(t, br)
	pub := srv.dial(t, 4)
	pub.connect("pub", true, nil)
	const n = pipeWindow + 40
	for i := range n {
		pub.publish("fast", 0, false, 0, fmt.Sprint(i), nil)
	}
	br.await(t, pipeWindow)
	for i := 0; i < n; i++ {
		br.await(t, i+1)
		br.complete(i, nil)
	}
	pub.ping()
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.maxOpen > pipeWindow || len(br.held) != n {
		t.Fatalf("%d publishes in flight at most (window %d), %d in all (want %d)", br.maxOpen, pipeWindow, len(br.held), n)
	}
	for i, h := range br.held {
		if string(h.m.Data) != fmt.Sprint(i) {
			t.Fatalf("publish %d queued as #%d", i, h.m.Data)
		}
	}
}

// TestWillWaitsForPublishesInFlight: a client that publishes and drops
// its connection has its will published after what it published, as
// when every publish was waited for.
func TestWillWaitsForPublishesInFlight(t *testing.T) {
	br := newHeldBroker()
	srv := newClusterTestServer(t, br)
	pub := srv.dial(t, 5)
	pub.connect("pub", true, func(pk *packets.Packet) {
		pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillPayload, pk.Connect.WillQos = true, "status", []byte("offline"), 1
	})
	pub.publish("status", 1, false, 1, "online", nil)
	br.await(t, 1)
	pub.c.Close()
	// The connection is gone (the adapter counted it out) before the
	// stream answers.
	for deadline := time.Now().Add(10 * time.Second); srv.a.connected.Load() != 0; {
		if time.Now().After(deadline) {
			t.Fatal("the connection's end was not handled")
		}
		time.Sleep(5 * time.Millisecond) // polling a counter; no event to await
	}
	br.complete(0, nil)
	for deadline := time.Now().Add(10 * time.Second); !slices.Contains(br.eventList(), "sync:offline"); {
		if time.Now().After(deadline) {
			t.Fatalf("no will: %v", br.eventList())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got, want := br.eventList(), []string{"queued:online", "stored:online", "sync:offline"}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// TestPipelinedPubackWithADataDir: with a data directory, a pipelined
// PUBACK also waits for the store's commit of what it was given
// meanwhile (here a stored session's queued copy of the message), and
// the order holds.
func TestPipelinedPubackWithADataDir(t *testing.T) {
	db, err := durable.Open(t.TempDir(), durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	br := newHeldBroker()
	srv := newClusterTestServerWith(t, br, Options{Store: db})
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	other := srv.dial(t, 4)
	other.connect("other", false, nil) // a stored session
	if ack := other.subscribe(1, nil, sub("d/#", 1)); ack.ReasonCodes[0] != 1 {
		t.Fatalf("SUBACK %v", ack.ReasonCodes)
	}
	pub := srv.dial(t, 5)
	pub.connect("pub", true, nil)
	pub.publish("d/1", 1, false, 1, "x", nil)
	pub.publish("d/2", 1, false, 2, "y", nil)
	br.await(t, 2)
	br.complete(1, nil)
	br.complete(0, nil)
	for _, pid := range []uint16{1, 2} {
		if ack := pub.expect(packets.Puback); ack.PacketID != pid || ack.ReasonCode != codeSuccess {
			t.Fatalf("PUBACK id %d code 0x%02x, want id %d success", ack.PacketID, ack.ReasonCode, pid)
		}
	}
	got := map[string]bool{}
	for range 2 {
		m := other.expect(packets.Publish)
		got[string(m.Payload)] = true
		other.ack(packets.Puback, m.PacketID)
	}
	if !got["x"] || !got["y"] {
		t.Fatalf("the stored session got %v", got)
	}
}
