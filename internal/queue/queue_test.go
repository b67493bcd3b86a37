package queue

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/heraldhq/herald/internal/message"
)

// taker records what it takes; refuse makes it act like a closing
// connection.
type taker struct {
	name   string
	got    []*Entry
	redel  []bool
	refuse bool
}

func (t *taker) Take(e *Entry) bool {
	if t.refuse {
		return false
	}
	t.got = append(t.got, e)
	t.redel = append(t.redel, e.Redelivered)
	return true
}

func msg(s string) *message.Message { return &message.Message{Data: []byte(s)} }

func bodies(es []*Entry) string {
	s := ""
	for _, e := range es {
		s += string(e.Msg.Data)
	}
	return s
}

func send(t *testing.T, qs *Queues, name string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if err := qs.Send(name, msg(b)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRoundRobinCompetingConsumers(t *testing.T) {
	t.Parallel()
	qs := New(Options{})
	a, b, c := &taker{name: "a"}, &taker{name: "b"}, &taker{name: "c"}
	for _, k := range []*taker{a, b, c} {
		if _, err := qs.Subscribe("q", k, 0); err != nil {
			t.Fatal(err)
		}
	}
	send(t, qs, "q", "1", "2", "3", "4", "5", "6", "7")
	if bodies(a.got) != "147" || bodies(b.got) != "25" || bodies(c.got) != "36" {
		t.Fatalf("a %q b %q c %q, want each message once, in turn", bodies(a.got), bodies(b.got), bodies(c.got))
	}
}

func TestBacklogWaitsForAConsumer(t *testing.T) {
	t.Parallel()
	qs := New(Options{Backlog: 3})
	send(t, qs, "q", "1", "2", "3")
	if err := qs.Send("q", msg("4")); !errors.Is(err, ErrFull) {
		t.Fatalf("fourth message: %v, want ErrFull", err)
	}
	if w, _ := qs.Len("q"); w != 3 {
		t.Fatalf("%d waiting, want 3", w)
	}
	a := &taker{}
	qs.Subscribe("q", a, 0)
	if bodies(a.got) != "123" {
		t.Fatalf("the consumer got %q, want the backlog in order", bodies(a.got))
	}
	if w, _ := qs.Len("q"); w != 0 {
		t.Fatalf("%d still waiting", w)
	}
}

func TestCreditAckAndRedelivery(t *testing.T) {
	t.Parallel()
	qs := New(Options{})
	a, b := &taker{}, &taker{}
	qa, _ := qs.Subscribe("q", a, 2)
	send(t, qs, "q", "1", "2", "3", "4")
	if bodies(a.got) != "12" {
		t.Fatalf("a got %q with credit 2", bodies(a.got))
	}
	if w, u := qs.Len("q"); w != 2 || u != 2 {
		t.Fatalf("waiting %d unacked %d, want 2 and 2", w, u)
	}
	qa.Ack(a, a.got[0])
	if bodies(a.got) != "123" {
		t.Fatalf("after an ack a got %q, want the next message", bodies(a.got))
	}
	// A NACK puts the message back in front, marked redelivered.
	qa.Nack(a, a.got[1])
	if bodies(a.got) != "1232" || !a.redel[3] {
		t.Fatalf("after a nack a got %q (redelivered %v)", bodies(a.got), a.redel)
	}
	qb, _ := qs.Subscribe("q", b, 2)
	if bodies(b.got) != "4" {
		t.Fatalf("b got %q, want what waited", bodies(b.got))
	}
	// a leaves holding 3 and 2: b takes them (up to its credit), in order.
	qa.Unsubscribe(a)
	if bodies(b.got) != "43" || !b.redel[1] {
		t.Fatalf("b got %q (redelivered %v) after a left", bodies(b.got), b.redel)
	}
	qb.Ack(b, b.got...)
	if bodies(b.got) != "432" || !b.redel[2] {
		t.Fatalf("b got %q after acking", bodies(b.got))
	}
	qb.Ack(b, b.got[2])
	if w, u := qs.Len("q"); w != 0 || u != 0 {
		t.Fatalf("waiting %d unacked %d at the end", w, u)
	}
	qb.Unsubscribe(b)
	if n := qs.Count(); n != 0 {
		t.Fatalf("%d queues left, want the unused one removed", n)
	}
	if qs.bytes.Load() != 0 {
		t.Fatalf("%d bytes accounted at the end", qs.bytes.Load())
	}
}

func TestRefusingConsumerIsPassedOver(t *testing.T) {
	t.Parallel()
	qs := New(Options{})
	closing, live := &taker{refuse: true}, &taker{}
	qs.Subscribe("q", closing, 0)
	send(t, qs, "q", "1")
	if w, _ := qs.Len("q"); w != 1 {
		t.Fatalf("%d waiting: a refused message must stay", w)
	}
	qs.Subscribe("q", live, 0)
	send(t, qs, "q", "2")
	if bodies(live.got) != "12" {
		t.Fatalf("live got %q", bodies(live.got))
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	qs := New(Options{MaxQueues: 2, MaxBytes: 200})
	send(t, qs, "a", "x")
	send(t, qs, "b", "x")
	if err := qs.Send("c", msg("x")); !errors.Is(err, ErrTooMany) {
		t.Fatalf("third queue: %v, want ErrTooMany", err)
	}
	if err := qs.Send("a", msg(string(make([]byte, 100)))); !errors.Is(err, ErrTooManyBytes) {
		t.Fatalf("over the byte limit: %v, want ErrTooManyBytes", err)
	}
	if _, err := qs.Subscribe("c", &taker{}, 0); !errors.Is(err, ErrTooMany) {
		t.Fatalf("subscribing to a third queue: %v", err)
	}
}

// TestConcurrent runs senders, acking consumers and leaving consumers at
// once: every message is taken, and acknowledged, exactly once.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	qs := New(Options{Backlog: 100000})
	const senders, perSender = 4, 500
	var mu sync.Mutex
	acked := map[string]int{}
	var wg sync.WaitGroup
	consume := func(rounds int) {
		defer wg.Done()
		for range rounds {
			k := &lockedTaker{}
			q, err := qs.Subscribe("q", k, 5)
			if err != nil {
				t.Error(err)
				return
			}
			// Ack half of what arrived, then leave: the rest is redelivered.
			for range 20 {
				es := k.drain()
				for i, e := range es {
					if i%2 == 0 {
						q.Ack(k, e)
						mu.Lock()
						acked[string(e.Msg.Data)]++
						mu.Unlock()
					}
				}
			}
			q.Unsubscribe(k)
		}
	}
	for range 3 {
		wg.Add(1)
		go consume(50)
	}
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				if err := qs.Send("q", msg(fmt.Sprint(s, "-", i))); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// Drain what is left with one acking consumer.
	k := &lockedTaker{}
	q, _ := qs.Subscribe("q", k, 0)
	for _, e := range k.drain() {
		acked[string(e.Msg.Data)]++
	}
	q.Unsubscribe(k)
	if len(acked) != senders*perSender {
		t.Fatalf("%d distinct messages acknowledged, want %d", len(acked), senders*perSender)
	}
	for m, n := range acked {
		if n != 1 {
			t.Fatalf("message %s acknowledged %d times", m, n)
		}
	}
	if qs.bytes.Load() != 0 || qs.Count() != 0 {
		t.Fatalf("%d bytes and %d queues left", qs.bytes.Load(), qs.Count())
	}
}

type lockedTaker struct {
	mu  sync.Mutex
	got []*Entry
}

func (l *lockedTaker) Take(e *Entry) bool {
	l.mu.Lock()
	l.got = append(l.got, e)
	l.mu.Unlock()
	return true
}

func (l *lockedTaker) drain() []*Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	es := l.got
	l.got = nil
	return es
}
