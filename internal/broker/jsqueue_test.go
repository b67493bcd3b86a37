package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/queue"
)

// startJetStream runs a single nats-server with JetStream on a free
// loopback port for the test.
func startJetStream(t *testing.T) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true,
		JetStream: true, StoreDir: t.TempDir(), JetStreamMaxMemory: 1 << 30,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// qnode is one "node": its own NATS connection, sequenced broker, queues
// and queue stream.
type qnode struct {
	b  *NATS
	qs *queue.Queues
	js *JSQueues
}

func startQueueNode(t *testing.T, srv *server.Server, cfg QueueStreamConfig) *qnode {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL(), nats.NoEcho())
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSequencedNATS(context.Background(), nc, "herald", StreamConfig{PerTopic: 10, Logger: testLogger})
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	n := &qnode{b: b}
	n.js, err = b.JSQueues(cfg, nodeQueues{n})
	if err != nil {
		t.Fatal(err)
	}
	n.qs = queue.New(queue.Options{Shared: n.js})
	t.Cleanup(func() { b.Close() })
	return n
}

// nodeQueues is a node's QueueLocal: its queue.Queues, made after the
// JSQueues they use.
type nodeQueues struct{ n *qnode }

func (l nodeQueues) Deliver(name string, m *message.Message, redelivered bool, r queue.Receipt) error {
	return l.n.qs.Deliver(name, m, redelivered, r)
}
func (l nodeQueues) Room(name string) int { return l.n.qs.Room(name) }
func (l nodeQueues) Release(name string)  { l.n.qs.Release(name) }

// taker is a queue.Consumer that keeps what it takes, signalling each.
type taker struct {
	mu     sync.Mutex
	got    []*queue.Entry
	signal chan struct{}
}

func newTaker() *taker { return &taker{signal: make(chan struct{}, 1)} }

func (k *taker) Take(e *queue.Entry) bool {
	k.mu.Lock()
	k.got = append(k.got, e)
	k.mu.Unlock()
	select {
	case k.signal <- struct{}{}:
	default:
	}
	return true
}

// wait waits until k has taken n entries (a hang guard, not a timing).
func (k *taker) wait(t *testing.T, q *queue.Queue, n int) []*queue.Entry {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		k.mu.Lock()
		got := len(k.got)
		k.mu.Unlock()
		if got >= n {
			return k.entries(q)
		}
		select {
		case <-k.signal:
		case <-deadline:
			t.Fatalf("took %d of %d messages", got, n)
		}
	}
}

func (k *taker) entries(q *queue.Queue) []*queue.Entry {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]*queue.Entry(nil), k.got...)
}

func send(t *testing.T, n *qnode, name string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := n.qs.SendContext(ctx, name, &message.Message{Topic: name, Data: []byte(b), Headers: []message.Header{{Key: "k", Value: b}}})
		cancel()
		if err != nil {
			t.Fatalf("send %s: %v", b, err)
		}
	}
}

// streamMsgs is how many messages the queue stream holds.
func streamMsgs(t *testing.T, n *qnode) uint64 {
	t.Helper()
	info, err := n.js.js.StreamInfo(n.js.cfg.Name)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// waitStream waits until the queue stream holds want messages.
func waitStream(t *testing.T, n *qnode, want uint64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for got := streamMsgs(t, n); got != want; got = streamMsgs(t, n) {
		if time.Now().After(deadline) {
			t.Fatalf("stream holds %d messages, want %d", got, want)
		}
		time.Sleep(20 * time.Millisecond) // polling the server's state: no event to await
	}
}

func bodies(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

func TestJSQueueSentBeforeAnyConsumerWaitsInTheStream(t *testing.T) {
	srv := startJetStream(t)
	a, b := startQueueNode(t, srv, QueueStreamConfig{}), startQueueNode(t, srv, QueueStreamConfig{})
	send(t, a, "jobs", bodies("m", 5)...)
	if got := streamMsgs(t, a); got != 5 {
		t.Fatalf("stream holds %d, want 5", got)
	}
	k := newTaker()
	q, err := b.qs.Subscribe("jobs", k, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := k.wait(t, q, 5)
	for i, e := range got {
		if string(e.Msg.Data) != fmt.Sprint("m", i) || e.Redelivered || len(e.Msg.Headers) != 1 || e.Msg.Headers[0].Value != string(e.Msg.Data) {
			t.Fatalf("entry %d = %q redelivered %v headers %v", i, e.Msg.Data, e.Redelivered, e.Msg.Headers)
		}
	}
	// Held unacknowledged: still in the (work-queue) stream until acked.
	if got := streamMsgs(t, a); got != 5 {
		t.Fatalf("stream holds %d before the acks, want 5", got)
	}
	q.Ack(k, got...)
	waitStream(t, a, 0)
	q.Unsubscribe(k)
}

func TestJSQueueEachMessageToOneConsumerInTheCluster(t *testing.T) {
	srv := startJetStream(t)
	a, b, c := startQueueNode(t, srv, QueueStreamConfig{}), startQueueNode(t, srv, QueueStreamConfig{}), startQueueNode(t, srv, QueueStreamConfig{})
	ka, kb := newTaker(), newTaker()
	qa, err := a.qs.Subscribe("work", ka, 0) // acknowledges on delivery
	if err != nil {
		t.Fatal(err)
	}
	qb, err := b.qs.Subscribe("work", kb, 0)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	send(t, c, "work", bodies("w", n)...)
	seen := map[string]int{}
	deadline := time.After(30 * time.Second)
	for len(seen) < n {
		select {
		case <-ka.signal:
		case <-kb.signal:
		case <-deadline:
			t.Fatalf("consumed %d of %d", len(seen), n)
		}
		clear(seen)
		for _, e := range append(ka.entries(qa), kb.entries(qb)...) {
			seen[string(e.Msg.Data)]++
		}
	}
	waitStream(t, c, 0)
	for body, times := range seen {
		if times != 1 {
			t.Fatalf("%s consumed %d times", body, times)
		}
	}
	qa.Unsubscribe(ka)
	qb.Unsubscribe(kb)
}

func TestJSQueueNackAndUnsubscribeGiveBackToAnyNode(t *testing.T) {
	srv := startJetStream(t)
	a, b := startQueueNode(t, srv, QueueStreamConfig{}), startQueueNode(t, srv, QueueStreamConfig{})
	ka := newTaker()
	qa, err := a.qs.Subscribe("q", ka, 2)
	if err != nil {
		t.Fatal(err)
	}
	send(t, b, "q", "x", "y")
	got := ka.wait(t, qa, 2)
	// b's consumer comes; a refuses x and leaves with y unacknowledged.
	kb := newTaker()
	qb, err := b.qs.Subscribe("q", kb, 2)
	if err != nil {
		t.Fatal(err)
	}
	qa.Nack(ka, got[0])
	qa.Unsubscribe(ka)
	back := kb.wait(t, qb, 2)
	names := map[string]bool{}
	for _, e := range back {
		if !e.Redelivered {
			t.Fatalf("%s given back without the redelivered flag", e.Msg.Data)
		}
		names[string(e.Msg.Data)] = true
	}
	if !names["x"] || !names["y"] {
		t.Fatalf("node b got %v, want x and y", names)
	}
	if a.js.Held() != 0 {
		t.Fatalf("node a still holds %d", a.js.Held())
	}
	qb.Ack(kb, back...)
	waitStream(t, b, 0)
	qb.Unsubscribe(kb)
}

func TestJSQueueLostNodeHandsItsMessagesOn(t *testing.T) {
	srv := startJetStream(t)
	cfg := QueueStreamConfig{AckWait: time.Second}
	a, b := startQueueNode(t, srv, cfg), startQueueNode(t, srv, cfg)
	ka := newTaker()
	qa, err := a.qs.Subscribe("q", ka, 3) // a pulls no more than 3
	if err != nil {
		t.Fatal(err)
	}
	send(t, b, "q", "1", "2", "3")
	ka.wait(t, qa, 3)
	// Node a holds the three unacknowledged for longer than AckWait: its
	// heartbeat keeps them, so b, subscribing now, gets nothing yet.
	kb := newTaker()
	qb, err := b.qs.Subscribe("q", kb, 10)
	if err != nil {
		t.Fatal(err)
	}
	send(t, b, "q", "4")
	got := kb.wait(t, qb, 1)
	if string(got[0].Msg.Data) != "4" {
		t.Fatalf("b got %q first, want 4 (a still holds 1-3)", got[0].Msg.Data)
	}
	qb.Ack(kb, got...)
	// Lose a without a word: its connection closes, its consumer never
	// settles.
	a.b.nc.Close()
	got = kb.wait(t, qb, 4)
	for _, e := range got[1:] {
		if !e.Redelivered {
			t.Fatalf("%s handed on without the redelivered flag", e.Msg.Data)
		}
	}
	qb.Ack(kb, got[1:]...)
	waitStream(t, b, 0)
	qb.Unsubscribe(kb)
}

func TestJSQueueLimits(t *testing.T) {
	srv := startJetStream(t)
	a := startQueueNode(t, srv, QueueStreamConfig{PerQueue: 2})
	send(t, a, "small", "1", "2")
	err := a.qs.SendContext(context.Background(), "small", &message.Message{Topic: "small", Data: []byte("3")})
	if !errors.Is(err, queue.ErrFull) {
		t.Fatalf("third send: %v, want ErrFull", err)
	}
	send(t, a, "other", "1") // per queue
	b := startQueueNode(t, startJetStream(t), QueueStreamConfig{MaxBytes: 4 << 10})
	err = b.qs.SendContext(context.Background(), "big", &message.Message{Topic: "big", Data: make([]byte, 8<<10)})
	if !errors.Is(err, queue.ErrTooManyBytes) {
		t.Fatalf("a message over the stream's bytes: %v, want ErrTooManyBytes", err)
	}
	if _, err := a.b.JSQueues(QueueStreamConfig{Storage: "disk"}, nil); err == nil {
		t.Fatal("storage \"disk\" accepted")
	}
	if _, err := (&NATS{}).JSQueues(QueueStreamConfig{}, nil); !errors.Is(err, ErrNoQueueStream) {
		t.Fatalf("unsequenced: %v", err)
	}
}

var testLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

func TestJSQueueMessageNoConsumerCanTakeGoesToAnotherNode(t *testing.T) {
	srv := startJetStream(t)
	a, b := startQueueNode(t, srv, QueueStreamConfig{}), startQueueNode(t, srv, QueueStreamConfig{})
	// Node a has two consumers of credit 1: it asks the stream for 2.
	x, y := newTaker(), newTaker()
	q, err := a.qs.Subscribe("q", x, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.qs.Subscribe("q", y, 1); err != nil {
		t.Fatal(err)
	}
	send(t, b, "q", "p")
	var holder, other *taker
	select {
	case <-x.signal:
		holder, other = x, y
	case <-y.signal:
		holder, other = y, x
	case <-time.After(30 * time.Second):
		t.Fatal("p not delivered on a")
	}
	// The consumer with room leaves while a's pull still asks for one
	// more: the next message reaches a, where no consumer can take it.
	q.Unsubscribe(other)
	send(t, b, "q", "m")
	z := newTaker()
	qz, err := b.qs.Subscribe("q", z, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := z.wait(t, qz, 1)
	if string(got[0].Msg.Data) != "m" {
		t.Fatalf("b got %q, want m", got[0].Msg.Data)
	}
	if len(holder.entries(q)) != 1 {
		t.Fatalf("a's consumer took %d, want p only", len(holder.entries(q)))
	}
	qz.Ack(z, got...)
	q.Unsubscribe(holder)
	qz.Unsubscribe(z)
}
