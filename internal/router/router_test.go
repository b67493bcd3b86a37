package router

import (
	"context"
	"errors"
	"testing"

	"github.com/heraldhq/herald/internal/broker"
	"github.com/heraldhq/herald/internal/message"
)

func TestZeroOptions(t *testing.T) {
	r := newRouter(t, Options{})
	s := &recorder{}
	if err := r.Subscribe(s, "a/#", nil, nil); err != nil {
		t.Fatal(err)
	}
	publish(t, r, "a/b", 2)
	if got := r.Stats(); got != (Stats{Topics: 1, Subscriptions: 1, Published: 2}) {
		t.Fatalf("Stats = %+v", got)
	}
	if got := s.seqs(); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("seqs = %v", got)
	}
	// No history by default: nothing to replay, but sequence numbers are
	// still kept, so a resuming client learns what it missed.
	late := &recorder{}
	if err := r.Subscribe(late, "a/b", map[string]message.Position{"a/b": {Epoch: s.msgs[0].Epoch, Seq: 1}}, late.replay); err != nil {
		t.Fatal(err)
	}
	if len(late.msgs) != 0 || len(late.gaps) != 1 || late.gaps[0].From != 2 || late.gaps[0].To != 2 {
		t.Fatalf("late: msgs %v gaps %+v", late.seqs(), late.gaps)
	}
}

func TestStats(t *testing.T) {
	r := newRouter(t, Options{HistorySize: 4})
	a, b := &recorder{}, &recorder{}
	for _, f := range []string{"x", "y/+", "#"} {
		_ = r.Subscribe(a, f, nil, nil)
	}
	_ = r.Subscribe(b, "x", nil, nil)
	_ = r.Subscribe(b, "x", nil, nil) // again: no-op
	publish(t, r, "x", 3)
	publish(t, r, "y/1", 1)
	publish(t, r, "z", 1)
	want := Stats{Topics: 3, Subscriptions: 4, Published: 5}
	if got := r.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

func TestClose(t *testing.T) {
	tests := []struct {
		name          string
		external      bool
		brokerClosed  bool // after router Close, is the broker closed?
		wantPublish   error
		wantSubscribe error
	}{
		{"owned broker is closed", false, true, ErrClosed, ErrClosed},
		{"external broker is left open", true, false, ErrClosed, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b broker.Broker
			if tt.external {
				b = broker.NewMemory()
			}
			r := New(Options{Broker: b})
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if err := r.Publish(context.Background(), &message.Message{Topic: "a"}); !errors.Is(err, tt.wantPublish) {
				t.Fatalf("Publish after Close = %v", err)
			}
			if err := r.Subscribe(&recorder{}, "a", nil, nil); !errors.Is(err, tt.wantSubscribe) {
				t.Fatalf("Subscribe after Close = %v", err)
			}
			if b != nil {
				err := b.Publish(context.Background(), &message.Message{Topic: "a"})
				if closed := errors.Is(err, broker.ErrClosed); closed != tt.brokerClosed {
					t.Fatalf("broker closed = %v, want %v", closed, tt.brokerClosed)
				}
			}
		})
	}
}

// TestSharedBroker: two routers on one Memory broker act as two nodes; a
// message published on one reaches subscribers on both.
func TestSharedBroker(t *testing.T) {
	b := broker.NewMemory()
	defer b.Close()
	n1 := newRouter(t, Options{Broker: b})
	n2 := newRouter(t, Options{Broker: b})
	s1, s2 := &recorder{}, &recorder{}
	_ = n1.Subscribe(s1, "room/+", nil, nil)
	_ = n2.Subscribe(s2, "room/#", nil, nil)
	publish(t, n1, "room/1", 1)
	publish(t, n2, "room/2", 1)
	for _, s := range []*recorder{s1, s2} {
		if got := s.topics(); len(got) != 2 || got[0] != "room/1" || got[1] != "room/2" {
			t.Fatalf("got %v", got)
		}
	}
	// After n2 closes it receives nothing more, and n1 still works.
	_ = n2.Close()
	publish(t, n1, "room/3", 1)
	if len(s2.topics()) != 2 || len(s1.topics()) != 3 {
		t.Fatalf("after close: s1 %v s2 %v", s1.topics(), s2.topics())
	}
}
