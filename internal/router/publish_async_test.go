package router

import (
	"context"
	"errors"
	"testing"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// On one node PublishAsync is Publish: done is called before it returns,
// once, with the message delivered and stamped; a refused publish reports
// its error and leaves the message unstamped. (The cluster path is
// tested with a real stream in internal/broker and internal/cluster.)
func TestPublishAsyncOnOneNodeIsSynchronous(t *testing.T) {
	r := New(Options{})
	defer r.Close()
	if r.Sequenced() {
		t.Fatal("a memory router says it is sequenced")
	}
	rec := &recorder{}
	if err := r.Subscribe(rec, "a", nil, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		m := &message.Message{Topic: "a"}
		calls := 0
		r.PublishAsync(context.Background(), m, func(err error) {
			calls++
			if err != nil {
				t.Errorf("publish %d: %v", i, err)
			}
		})
		if calls != 1 || m.Seq != uint64(i+1) || m.ID == 0 {
			t.Fatalf("publish %d: done called %d times before return, Seq %d, ID %d", i, calls, m.Seq, m.ID)
		}
	}
	if got := len(rec.topics()); got != 3 {
		t.Fatalf("delivered %d, want 3", got)
	}
	bad := &message.Message{Topic: "a/#"}
	var got error
	r.PublishAsync(context.Background(), bad, func(err error) { got = err })
	if !errors.Is(got, topic.ErrInvalidName) || bad.ID != 0 || bad.Seq != 0 {
		t.Fatalf("invalid topic: err %v, ID %d, Seq %d", got, bad.ID, bad.Seq)
	}
}
