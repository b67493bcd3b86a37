package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/broker"
	"github.com/heraldhq/herald/internal/message"
)

// The cluster's MQTT session store (broker.Sessions) on three embedded
// nodes: records written with compare-and-set on one node and read on
// another, release requests, and the replay of the topic stream after a
// position that a session taken over reads.
func TestSessionsRecordsAndReplay(t *testing.T) {
	ms := startCluster(t, 3)
	a, b := ms[0].node.Broker().Sessions(), ms[1].node.Broker().Sessions()
	if a == nil || b == nil {
		t.Fatal("no session store on a sequenced cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	if _, _, err := b.Get(ctx, "c/1 é"); !errors.Is(err, broker.ErrNoSession) {
		t.Fatalf("Get of nothing: %v", err)
	}
	rev, err := a.Put(ctx, "c/1 é", []byte("one"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "c/1 é", []byte("again"), 0); !errors.Is(err, broker.ErrSessionMoved) {
		t.Fatalf("a second create: %v", err)
	}
	rec, got, err := b.Get(ctx, "c/1 é")
	if err != nil || string(rec) != "one" || got != rev {
		t.Fatalf("Get on another node: %q %d %v, want one %d", rec, got, err, rev)
	}
	rev2, err := b.Put(ctx, "c/1 é", []byte("two"), rev) // b takes it over
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Put(ctx, "c/1 é", []byte("stale"), rev); !errors.Is(err, broker.ErrSessionMoved) {
		t.Fatalf("a write with a stale revision: %v", err)
	}
	if err := a.Delete(ctx, "c/1 é", rev); !errors.Is(err, broker.ErrSessionMoved) {
		t.Fatalf("a delete with a stale revision: %v", err)
	}
	if err := b.Delete(ctx, "c/1 é", rev2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Get(ctx, "c/1 é"); !errors.Is(err, broker.ErrNoSession) {
		t.Fatalf("Get after delete: %v", err)
	}

	// Release: the owner answers once its handler has run; a node that
	// does not exist does not answer.
	released := make(chan string, 1)
	if err := a.ServeRelease(func(cid string) { released <- cid }); err != nil {
		t.Fatal(err)
	}
	// (The subscription reaches the other servers a moment later.)
	for !b.Release(ctx, a.Owner(), "x") {
		if ctx.Err() != nil {
			t.Fatal("release not answered")
		}
		time.Sleep(20 * time.Millisecond) // interest crossing the routes; no event to await
	}
	if cid := <-released; cid != "x" {
		t.Fatalf("released %q", cid)
	}
	if b.Release(ctx, "nobody", "x") {
		t.Fatal("a node that does not exist answered")
	}

	// Replay: everything after a position, every topic, in stream order.
	pos := b.Delivered()
	for i := range 6 {
		if err := ms[i%3].router.Publish(ctx, &message.Message{Topic: fmt.Sprintf("rp/%d", i%2), Data: fmt.Appendf(nil, "m%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	var streams []uint64
	last, full, err := b.Replay(ctx, pos, func(m *message.Message) {
		seen = append(seen, m.Topic+" "+string(m.Data))
		streams = append(streams, m.Stream)
	})
	if err != nil || len(full) != 0 {
		t.Fatalf("replay: %v (full %v)", err, full)
	}
	want := "[rp/0 m0 rp/1 m1 rp/0 m2 rp/1 m3 rp/0 m4 rp/1 m5]"
	if fmt.Sprint(seen) != want || last != streams[len(streams)-1] || streams[0] <= pos {
		t.Fatalf("replayed %v at %v (last %d, after %d), want %s", seen, streams, last, pos, want)
	}
	// More messages of a topic than the stream keeps (HistorySize 100)
	// after the position: the replay says the topic may have lost some.
	pos = last
	for i := range 101 {
		if err := ms[0].router.Publish(ctx, &message.Message{Topic: "full/t", Data: fmt.Appendf(nil, "%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	if last, full, err = b.Replay(ctx, pos, func(*message.Message) { n++ }); err != nil || fmt.Sprint(full) != "[full/t]" || n != 100 {
		t.Fatalf("replay of a full topic: %d messages, full %v, %v", n, full, err)
	}

	// After the end: nothing.
	n = 0
	if _, _, err := b.Replay(ctx, last, func(*message.Message) { n++ }); err != nil || n != 0 {
		t.Fatalf("replay after the end: %d messages, %v", n, err)
	}
}
