package queue

import (
	"context"
	"errors"
	"testing"

	"github.com/heraldhq/herald/internal/message"
)

// sharedLog is a Shared store that records what the queues tell it; the
// real one (broker.JSQueues) is tested against nats-server in
// internal/broker.
type sharedLog struct {
	sent     []string
	interest []bool
	wakes    int
}

func (s *sharedLog) Send(_ context.Context, _ string, m *message.Message) error {
	s.sent = append(s.sent, string(m.Data))
	return nil
}
func (s *sharedLog) Interest(_ string, on bool) { s.interest = append(s.interest, on) }
func (s *sharedLog) Wake(string)                { s.wakes++ }

// receipt records how a delivery was settled.
type receipt struct{ acked, nacked int }

func (r *receipt) Ack()  { r.acked++ }
func (r *receipt) Nack() { r.nacked++ }

func TestSharedSendGoesToTheStoreAndDeliverToConsumers(t *testing.T) {
	sh := &sharedLog{}
	qs := New(Options{Shared: sh, Backlog: 2})
	if err := qs.Send("q", msg("a")); err != nil || len(sh.sent) != 1 {
		t.Fatalf("Send: %v, store got %v", err, sh.sent)
	}
	if n, _ := qs.Len("q"); n != 0 {
		t.Fatalf("%d waiting here: a shared message waits in the store", n)
	}
	if err := qs.Deliver("q", msg("a"), false, &receipt{}); !errors.Is(err, ErrNoConsumer) {
		t.Fatalf("Deliver with no consumer: %v", err)
	}
	if qs.Room("q") != 0 {
		t.Fatal("room without consumers")
	}

	c, auto := &taker{}, &taker{}
	q, err := qs.Subscribe("q", c, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(sh.interest) != 1 || !sh.interest[0] || sh.wakes == 0 {
		t.Fatalf("interest %v wakes %d after the first consumer", sh.interest, sh.wakes)
	}
	if qs.Room("q") != 2 {
		t.Fatalf("room %d, want the consumer's credit 2", qs.Room("q"))
	}
	r1, r2, r3 := &receipt{}, &receipt{}, &receipt{}
	for i, r := range []*receipt{r1, r2} {
		if err := qs.Deliver("q", msg(string(rune('a'+i))), i == 1, r); err != nil {
			t.Fatal(err)
		}
	}
	if bodies(c.got) != "ab" || c.redel[0] || !c.redel[1] || qs.Room("q") != 0 {
		t.Fatalf("took %q redelivered %v, room %d", bodies(c.got), c.redel, qs.Room("q"))
	}
	// A third waits here (the consumer is full), within the backlog.
	if err := qs.Deliver("q", msg("c"), false, r3); err != nil {
		t.Fatal(err)
	}
	wakes := sh.wakes
	q.Ack(c, c.got[0])
	if r1.acked != 1 || sh.wakes == wakes || bodies(c.got) != "abc" {
		t.Fatalf("ack: receipt %+v, wakes %d, took %q", *r1, sh.wakes, bodies(c.got))
	}
	q.Nack(c, c.got[1])
	if r2.nacked != 1 || r2.acked != 0 {
		t.Fatalf("nack: receipt %+v", *r2)
	}
	if n, _ := qs.Len("q"); n != 0 {
		t.Fatal("a refused shared message stayed here: it goes back to the store")
	}
	// An auto-acknowledging consumer settles on delivery.
	if _, err := qs.Subscribe("q", auto, 0); err != nil {
		t.Fatal(err)
	}
	if got := qs.Room("q"); got != 1+autoRoom {
		t.Fatalf("room %d, want %d", got, 1+autoRoom)
	}
	r4 := &receipt{}
	qs.Deliver("q", msg("d"), false, r4)
	qs.Deliver("q", msg("e"), false, &receipt{})
	if r4.acked+len(auto.got) == 0 {
		t.Fatal("nothing went to the auto consumer")
	}
	q.Unsubscribe(auto)
	// The last consumer leaves holding c: it goes back to the store.
	q.Unsubscribe(c)
	if r3.nacked != 1 || sh.interest[len(sh.interest)-1] {
		t.Fatalf("unsubscribe: receipt %+v, interest %v", *r3, sh.interest)
	}
	if qs.Count() != 0 {
		t.Fatal("the queue stayed")
	}
}
