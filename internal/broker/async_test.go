package broker

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/message"
)

// startSequenced is a sequenced broker on srv whose stream is ready.
func startSequenced(t *testing.T, srv *server.Server, cfg StreamConfig) *NATS {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL(), nats.NoEcho())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = testLogger
	b, err := NewSequencedNATS(context.Background(), nc, "herald", cfg)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	select {
	case <-b.seq.readyCh:
	case <-time.After(15 * time.Second):
		t.Fatal("the stream did not become ready")
	}
	return b
}

// outcome is what one async publish's done reported.
type outcome struct {
	calls int
	err   error
	seq   uint64
}

func TestPublishAsyncKeepsCallOrderPerTopic(t *testing.T) {
	srv := startJetStream(t)
	b := startSequenced(t, srv, StreamConfig{PerTopic: 1000})
	topics := []string{"a", "b/1", "c/2/3"}
	const perTopic = 150
	var mu sync.Mutex
	got := map[string][]string{}
	all := make(chan struct{})
	cancel := b.Subscribe(func(m *message.Message) {
		mu.Lock()
		defer mu.Unlock()
		got[m.Topic] = append(got[m.Topic], string(m.Data))
		if len(got[m.Topic]) == perTopic {
			for _, tp := range topics {
				if len(got[tp]) < perTopic {
					return
				}
			}
			close(all)
		}
	})
	defer cancel()

	// One caller, publishes to three topics interleaved, none waited for;
	// a synchronous publish in the middle goes after the queued ones.
	outs := make([]outcome, perTopic*len(topics))
	msgs := make([]*message.Message, len(outs))
	var pending sync.WaitGroup
	for i := range outs {
		m := &message.Message{Topic: topics[i%len(topics)], Data: fmt.Appendf(nil, "%d", i)}
		msgs[i] = m
		if i == len(outs)/2 {
			if err := b.Publish(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			outs[i] = outcome{calls: 1, seq: m.Seq}
			continue
		}
		pending.Add(1)
		if !b.PublishAsync(m, func(err error) {
			mu.Lock()
			outs[i].calls++
			outs[i].err, outs[i].seq = err, m.Seq
			mu.Unlock()
			pending.Done()
		}) {
			t.Fatal("PublishAsync refused with the stream ready")
		}
	}
	pending.Wait()
	next := map[string]uint64{}
	mu.Lock()
	for i, o := range outs {
		tp := topics[i%len(topics)]
		next[tp]++
		if o.calls != 1 || o.err != nil || o.seq != next[tp] {
			t.Errorf("publish %d to %s: done called %d times, err %v, Seq %d; want once, nil, Seq %d", i, tp, o.calls, o.err, o.seq, next[tp])
		}
	}
	mu.Unlock()

	select {
	case <-all:
	case <-time.After(15 * time.Second):
		t.Fatal("not every publish was delivered")
	}
	mu.Lock()
	defer mu.Unlock()
	for k, tp := range topics {
		for j, d := range got[tp] {
			if want := fmt.Sprint(j*len(topics) + k); d != want {
				t.Fatalf("%s: delivery %d is %s, want %s (call order)", tp, j, d, want)
			}
		}
	}
}

func TestPublishAsyncFailureReachesDone(t *testing.T) {
	srv := startJetStream(t)
	b := startSequenced(t, srv, StreamConfig{PerTopic: 10, Retry: 300 * time.Millisecond})
	// The stream goes away under the broker: every store attempt fails
	// until the retry time is spent.
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream("HERALD"); err != nil {
		t.Fatal(err)
	}
	const n = 5
	errs := make(chan error, 2*n)
	ms := make([]*message.Message, n)
	for i := range ms {
		ms[i] = &message.Message{Topic: "gone", Data: []byte{byte(i)}}
		if !b.PublishAsync(ms[i], func(err error) { errs <- err }) {
			t.Fatal("PublishAsync refused")
		}
	}
	for range n {
		select {
		case err := <-errs:
			if err == nil {
				t.Fatal("a publish to a deleted stream succeeded")
			}
		case <-time.After(15 * time.Second):
			t.Fatal("done was not called")
		}
	}
	select {
	case err := <-errs:
		t.Fatalf("done called more than once per publish (%v)", err)
	default:
	}
	for i, m := range ms {
		if m.Seq != 0 || m.Epoch != "" {
			t.Errorf("failed publish %d kept Seq %d Epoch %q", i, m.Seq, m.Epoch)
		}
	}
}

func TestPublishAsyncRefusedUnsequencedOrClosed(t *testing.T) {
	srv := startJetStream(t)
	nc, err := nats.Connect(srv.ClientURL(), nats.NoEcho())
	if err != nil {
		t.Fatal(err)
	}
	plain, err := NewNATS(nc, "herald")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	called := false
	if plain.PublishAsync(&message.Message{Topic: "x"}, func(error) { called = true }) || called {
		t.Error("an unsequenced broker took an async publish")
	}
	b := startSequenced(t, srv, StreamConfig{PerTopic: 10})
	b.Close()
	if b.PublishAsync(&message.Message{Topic: "x"}, func(error) { called = true }) || called {
		t.Error("a closed broker took an async publish")
	}
}
