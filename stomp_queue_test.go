package herald_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/stomp"
	"github.com/heraldhq/herald/internal/stomp/stomptest"
)

// TestSTOMPQueueCompetingConsumers: each message goes to exactly one of
// the consumers, in turn.
func TestSTOMPQueueCompetingConsumers(t *testing.T) {
	_, base, addr := startSTOMP(t, herald.Options{})
	var consumers []*stomptest.Client
	for i := range 3 {
		var c *stomptest.Client
		if i == 1 {
			c = stomptest.DialWS(t, base+"/ws", "v12.stomp")
		} else {
			c = stomptest.Dial(t, addr)
		}
		c.Connect()
		c.Send("SUBSCRIBE", "", "id", "w", "destination", "/queue/work", "receipt", "r")
		c.Receipt("r")
		consumers = append(consumers, c)
	}
	p := stomptest.Dial(t, addr)
	p.Connect()
	const n = 30
	for i := range n {
		p.Send("SEND", fmt.Sprint(i), "destination", "/queue/work")
	}
	p.Send("DISCONNECT", "", "receipt", "sent")
	p.Receipt("sent")
	seen := map[string]int{}
	for i, c := range consumers {
		for range n / len(consumers) {
			m := c.Expect("MESSAGE")
			if header(m, "destination") != "/queue/work" {
				t.Fatalf("destination %q", header(m, "destination"))
			}
			seen[string(m.Body)]++
		}
		// Nothing more is on its way to this one: a marker proves it.
		c.Send("SEND", "", "destination", "/topic/nothing", "receipt", "end")
		if extra := c.Receipt("end"); len(extra) > 0 {
			t.Fatalf("consumer %d got more than its turn: %q", i, extra[0].Body)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages delivered, want %d", len(seen), n)
	}
	for b, k := range seen {
		if k != 1 {
			t.Fatalf("message %s delivered %d times", b, k)
		}
	}
}

// TestSTOMPQueueRedeliveryAfterDrop: a client-individual consumer acks
// some messages and disconnects holding the rest; those go to the next
// consumer marked redelivered, and nothing it acknowledged comes back.
func TestSTOMPQueueRedeliveryAfterDrop(t *testing.T) {
	_, _, addr := startSTOMP(t, herald.Options{})
	p := stomptest.Dial(t, addr)
	p.Connect()
	const n = 10
	for i := range n {
		p.Send("SEND", fmt.Sprint(i), "destination", "/queue/jobs")
	}
	p.Send("SEND", "", "destination", "/topic/none", "receipt", "queued")
	p.Receipt("queued")

	a := stomptest.Dial(t, addr)
	a.Connect()
	a.Send("SUBSCRIBE", "", "id", "a", "destination", "/queue/jobs", "ack", "client-individual", "prefetch-count", "4")
	var got []*stomp.Frame
	for range 4 {
		got = append(got, a.Expect("MESSAGE"))
	}
	acked := map[string]bool{}
	for _, i := range []int{0, 2} { // acknowledge two, out of order
		a.Send("ACK", "", "id", header(got[i], "ack"), "receipt", fmt.Sprint("ack", i))
		for _, m := range a.Receipt(fmt.Sprint("ack", i)) {
			got = append(got, m) // credit freed: the next message came
		}
		acked[string(got[i].Body)] = true
	}
	a.Close() // dropped mid-stream, holding unacknowledged messages

	b := stomptest.Dial(t, addr)
	b.Connect()
	b.Send("SUBSCRIBE", "", "id", "b", "destination", "/queue/jobs", "ack", "client")
	received := map[string]bool{}
	for len(received) < n-len(acked) {
		m := b.Expect("MESSAGE")
		body := string(m.Body)
		if acked[body] {
			t.Fatalf("message %s was acknowledged by a, yet delivered again", body)
		}
		if received[body] {
			t.Fatalf("message %s delivered twice to b", body)
		}
		received[body] = true
		heldByA := false
		for _, g := range got {
			heldByA = heldByA || string(g.Body) == body
		}
		if (header(m, "redelivered") == "true") != heldByA {
			t.Errorf("message %s: redelivered %q, held by a %v", body, header(m, "redelivered"), heldByA)
		}
		b.Send("ACK", "", "id", header(m, "ack"))
	}
	b.Send("UNSUBSCRIBE", "", "id", "b", "receipt", "done")
	if extra := b.Receipt("done"); len(extra) > 0 {
		t.Fatalf("more messages than sent: %q", extra[0].Body)
	}
}

// TestSTOMPQueueNackAndCumulativeAck: NACK gives a message back marked
// redelivered; in client mode an ACK covers everything before it.
func TestSTOMPQueueNackAndCumulativeAck(t *testing.T) {
	_, _, addr := startSTOMP(t, herald.Options{})
	c := stomptest.Dial(t, addr)
	c.Connect()
	c.Send("SUBSCRIBE", "", "id", "q", "destination", "/queue/nack", "ack", "client", "receipt", "r")
	c.Receipt("r")
	for _, b := range []string{"a", "b", "c"} {
		c.Send("SEND", b, "destination", "/queue/nack")
	}
	var ms []*stomp.Frame
	for range 3 {
		ms = append(ms, c.Expect("MESSAGE"))
	}
	// NACK in client mode covers a and b: both come back, in order.
	c.Send("NACK", "", "id", header(ms[1], "ack"))
	for _, want := range []string{"a", "b"} {
		m := c.Expect("MESSAGE")
		if string(m.Body) != want || header(m, "redelivered") != "true" {
			t.Fatalf("after NACK got %q %v, want %q redelivered", m.Body, m.Headers, want)
		}
		ms = append(ms, m)
	}
	// One cumulative ACK of the last settles c, a and b.
	c.Send("ACK", "", "id", header(ms[4], "ack"), "receipt", "acked")
	c.Receipt("acked")
	// Acknowledged messages are gone: acking one again is an error.
	c.Send("ACK", "", "id", header(ms[2], "ack"))
	if e := c.Expect("ERROR"); !strings.HasPrefix(header(e, "message"), "ACK of unknown id") {
		t.Fatalf("ERROR %v", e.Headers)
	}
}

// TestSTOMPQueueAckInTransaction: an ACK inside a transaction counts at
// COMMIT; an aborted one leaves the message unacknowledged.
func TestSTOMPQueueAckInTransaction(t *testing.T) {
	_, _, addr := startSTOMP(t, herald.Options{})
	a := stomptest.Dial(t, addr)
	a.Connect()
	a.Send("SUBSCRIBE", "", "id", "a", "destination", "/queue/txq", "ack", "client-individual", "receipt", "r")
	a.Receipt("r")
	a.Send("SEND", "one", "destination", "/queue/txq")
	a.Send("SEND", "two", "destination", "/queue/txq")
	one, two := a.Expect("MESSAGE"), a.Expect("MESSAGE")
	a.Send("BEGIN", "", "transaction", "t1")
	a.Send("ACK", "", "id", header(one, "ack"), "transaction", "t1")
	a.Send("COMMIT", "", "transaction", "t1")
	a.Send("BEGIN", "", "transaction", "t2")
	a.Send("ACK", "", "id", header(two, "ack"), "transaction", "t2")
	a.Send("ABORT", "", "transaction", "t2", "receipt", "aborted")
	a.Receipt("aborted")
	a.Close()

	b := stomptest.Dial(t, addr)
	b.Connect()
	b.Send("SUBSCRIBE", "", "id", "b", "destination", "/queue/txq")
	if m := b.Expect("MESSAGE"); string(m.Body) != "two" || header(m, "redelivered") != "true" {
		t.Fatalf("got %q %v, want two redelivered", m.Body, m.Headers)
	}
	b.Send("DISCONNECT", "", "receipt", "bye")
	if extra := b.Receipt("bye"); len(extra) > 0 {
		t.Fatalf("committed ACK did not hold: got %q again", extra[0].Body)
	}
}
