package router

import (
	"context"
	"regexp"
	"testing"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/store"
)

func TestNewEpoch(t *testing.T) {
	seen := map[string]bool{}
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{12}$`)
	for range 1000 {
		e := newEpoch()
		if !valid.MatchString(e) {
			t.Fatalf("epoch %q is not 12 URL-safe characters", e)
		}
		if seen[e] {
			t.Fatalf("epoch %q repeated", e)
		}
		seen[e] = true
	}
}

func TestPosition(t *testing.T) {
	r := newRouter(t, Options{})
	tests := []struct {
		name    string
		publish int
		wantSeq uint64
	}{
		{"fresh/topic", 0, 0},
		{"busy", 5, 5},
		{"a//b", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.Position(tt.name)
			if before.Epoch == "" || before.Seq != 0 {
				t.Fatalf("Position before publish = %+v", before)
			}
			publish(t, r, tt.name, tt.publish)
			after := r.Position(tt.name)
			if after.Epoch != before.Epoch || after.Seq != tt.wantSeq {
				t.Fatalf("Position = %+v, want epoch %q seq %d (stable epoch)", after, before.Epoch, tt.wantSeq)
			}
		})
	}
	for _, bad := range []string{"", "a/+", "#", "a\x00"} {
		if p := r.Position(bad); p != (message.Position{}) {
			t.Errorf("Position(%q) = %+v, want zero", bad, p)
		}
	}
	if r.Stats().Topics != 3 {
		t.Fatalf("Topics = %d, want 3 (invalid names create nothing)", r.Stats().Topics)
	}
}

func TestTopicsHaveDistinctEpochs(t *testing.T) {
	r := newRouter(t, Options{})
	if a, b := r.Position("a"), r.Position("b"); a.Epoch == b.Epoch {
		t.Fatalf("two topics share epoch %q", a.Epoch)
	}
}

// TestStateContinuesFromHistory: a History that already holds messages (a
// persistent store after a restart) continues the topic's epoch and
// sequence instead of starting a new one.
func TestStateContinuesFromHistory(t *testing.T) {
	h := store.NewMemoryHistory(10, 0)
	for seq := uint64(1); seq <= 3; seq++ {
		h.Append(&message.Message{Topic: "kept", Epoch: "before", Seq: seq})
	}
	r := newRouter(t, Options{History: h})
	if p := r.Position("kept"); p != (message.Position{Epoch: "before", Seq: 3}) {
		t.Fatalf("Position = %+v, want the held stream", p)
	}
	publish(t, r, "kept", 1)
	s := &recorder{}
	_ = r.Subscribe(s, "kept", map[string]message.Position{"kept": {Epoch: "before", Seq: 2}}, s.replay)
	if got := s.seqs(); len(got) != 2 || got[0] != 3 || got[1] != 4 || len(s.gaps) != 0 {
		t.Fatalf("replay %v gaps %+v", got, s.gaps)
	}
}

func TestPeekDoesNotCreateState(t *testing.T) {
	r := New(Options{HistorySize: 4})
	defer r.Close()
	if p, ok := r.Peek("a/b"); ok || !p.IsZero() {
		t.Fatalf("Peek of an unknown topic = %v, %v", p, ok)
	}
	if r.Stats().Topics != 0 {
		t.Fatalf("Peek created state: %d topics", r.Stats().Topics)
	}
	m := &message.Message{Topic: "a/b"}
	if err := r.Publish(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	p, ok := r.Peek("a/b")
	if !ok || p.Seq != 1 || p.Epoch != m.Epoch {
		t.Fatalf("Peek after publish = %v, %v; want seq 1 epoch %s", p, ok, m.Epoch)
	}
}
