package queue

import (
	"slices"
	"testing"

	"github.com/heraldhq/herald/internal/message"
)

// otherNodes stands for the rest of a cluster: it takes what it is sent
// when it has a consumer, and records this node's interest changes.
type otherNodes struct {
	consumer bool
	took     []string
	interest []string
}

func (o *otherNodes) Send(name string, m *message.Message) bool {
	if o.consumer {
		o.took = append(o.took, string(m.Data))
	}
	return o.consumer
}

func (o *otherNodes) Interest(name string, on bool) {
	s := "-" + name
	if on {
		s = "+" + name
	}
	o.interest = append(o.interest, s)
}

func TestRemoteSend(t *testing.T) {
	other := &otherNodes{}
	qs := New(Options{Remote: other})
	msg := func(s string) *message.Message { return &message.Message{Topic: "q", Data: []byte(s)} }

	// No consumer anywhere: it waits here.
	if err := qs.Send("q", msg("a")); err != nil {
		t.Fatal(err)
	}
	// A consumer elsewhere: it goes there.
	other.consumer = true
	if err := qs.Send("q", msg("b")); err != nil {
		t.Fatal(err)
	}
	// A consumer here: it stays here, and gets what waited.
	c := &taker{}
	q, err := qs.Subscribe("q", c, 0)
	if err != nil {
		t.Fatal(err)
	}
	qs.Send("q", msg("c"))
	c2 := &taker{}
	qs.Subscribe("q", c2, 0) // a second consumer: no new interest
	q.Unsubscribe(c)
	q.Unsubscribe(c2)
	var here []string
	for _, e := range append(c.got, c2.got...) {
		here = append(here, string(e.Msg.Data))
	}
	slices.Sort(here)
	if !slices.Equal(here, []string{"a", "c"}) || !slices.Equal(other.took, []string{"b"}) {
		t.Fatalf("here %v, elsewhere %v", here, other.took)
	}
	if !slices.Equal(other.interest, []string{"+q", "-q"}) {
		t.Fatalf("interest %v, want +q then -q", other.interest)
	}
	// SendLocal never asks the others.
	qs.SendLocal("q", msg("d"))
	if len(other.took) != 1 {
		t.Fatal("SendLocal went elsewhere")
	}
}
