package router

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// cur in a test position stands for the topic's current epoch.
const cur = "<current>"

func TestReplayGapRules(t *testing.T) {
	type pub struct {
		topic string
		n     int
		after time.Duration // advance the clock before publishing
	}
	tests := []struct {
		name     string
		size     int
		ttl      time.Duration
		pubs     []pub
		wait     time.Duration // advance the clock before subscribing
		filter   string
		since    map[string]message.Position
		wantGaps []Gap // Epoch cur is filled in
		wantMsgs []string
		noReplay bool // replay must not be called at all
	}{
		{
			name: "live only", size: 10, pubs: []pub{{"t", 3, 0}},
			filter: "t", since: nil, noReplay: true,
		},
		{
			name: "zero position, nothing published", size: 10,
			filter: "t", since: map[string]message.Position{"t": {}}, noReplay: true,
		},
		{
			name: "zero position replays all held", size: 10, pubs: []pub{{"t", 3, 0}},
			filter: "t", since: map[string]message.Position{"t": {}},
			wantMsgs: []string{"t:1", "t:2", "t:3"},
		},
		{
			name: "zero position, history short: gap, no reset", size: 3, pubs: []pub{{"t", 10, 0}},
			filter: "t", since: map[string]message.Position{"t": {}},
			wantGaps: []Gap{{Topic: "t", From: 1, To: 7}},
			wantMsgs: []string{"t:8", "t:9", "t:10"},
		},
		{
			name: "caught up", size: 10, pubs: []pub{{"t", 3, 0}},
			filter: "t", since: map[string]message.Position{"t": {Epoch: cur, Seq: 3}}, noReplay: true,
		},
		{
			name: "replay the rest", size: 10, pubs: []pub{{"t", 3, 0}},
			filter: "t", since: map[string]message.Position{"t": {Epoch: cur, Seq: 1}},
			wantMsgs: []string{"t:2", "t:3"},
		},
		{
			name: "same epoch seq 0", size: 10, pubs: []pub{{"t", 2, 0}},
			filter: "t", since: map[string]message.Position{"t": {Epoch: cur, Seq: 0}},
			wantMsgs: []string{"t:1", "t:2"},
		},
		{
			name: "seq+1 == oldest: no gap", size: 3, pubs: []pub{{"t", 10, 0}},
			filter: "t", since: map[string]message.Position{"t": {Epoch: cur, Seq: 7}},
			wantMsgs: []string{"t:8", "t:9", "t:10"},
		},
		{
			name: "older than held: gap then all held", size: 3, pubs: []pub{{"t", 10, 0}},
			filter: "t", since: map[string]message.Position{"t": {Epoch: cur, Seq: 2}},
			wantGaps: []Gap{{Topic: "t", From: 3, To: 7}},
			wantMsgs: []string{"t:8", "t:9", "t:10"},
		},
		{
			name: "one message short", size: 3, pubs: []pub{{"t", 10, 0}},
			filter: "t", since: map[string]message.Position{"t": {Epoch: cur, Seq: 6}},
			wantGaps: []Gap{{Topic: "t", From: 7, To: 7}},
			wantMsgs: []string{"t:8", "t:9", "t:10"},
		},
		{
			name: "no history: gap to current", size: 0, pubs: []pub{{"t", 5, 0}},
			filter: "t", since: map[string]message.Position{"t": {Epoch: cur, Seq: 2}},
			wantGaps: []Gap{{Topic: "t", From: 3, To: 5}},
		},
		{
			name: "no history, caught up", size: 0, pubs: []pub{{"t", 5, 0}},
			filter: "t", since: map[string]message.Position{"t": {Epoch: cur, Seq: 5}}, noReplay: true,
		},
		{
			name: "other epoch, all held: empty reset gap", size: 10, pubs: []pub{{"t", 3, 0}},
			filter: "t", since: map[string]message.Position{"t": {Epoch: "old", Seq: 40}},
			wantGaps: []Gap{{Topic: "t", From: 1, To: 0, Reset: true}},
			wantMsgs: []string{"t:1", "t:2", "t:3"},
		},
		{
			name: "other epoch, history short", size: 3, pubs: []pub{{"t", 10, 0}},
			filter: "t", since: map[string]message.Position{"t": {Epoch: "old", Seq: 2}},
			wantGaps: []Gap{{Topic: "t", From: 1, To: 7, Reset: true}},
			wantMsgs: []string{"t:8", "t:9", "t:10"},
		},
		{
			name: "other epoch, no history", size: 0, pubs: []pub{{"t", 4, 0}},
			filter: "t", since: map[string]message.Position{"t": {Epoch: "old", Seq: 9}},
			wantGaps: []Gap{{Topic: "t", From: 1, To: 4, Reset: true}},
		},
		{
			name: "unknown topic with a position creates its epoch", size: 10,
			filter: "t", since: map[string]message.Position{"t": {Epoch: "old", Seq: 9}},
			wantGaps: []Gap{{Topic: "t", From: 1, To: 0, Reset: true}},
		},
		{
			name: "same epoch, seq beyond current", size: 10, pubs: []pub{{"t", 3, 0}},
			filter: "t", since: map[string]message.Position{"t": {Epoch: cur, Seq: 99}},
			wantGaps: []Gap{{Topic: "t", From: 1, To: 0, Reset: true}},
			wantMsgs: []string{"t:1", "t:2", "t:3"},
		},
		{
			name: "seq without epoch is another epoch", size: 10, pubs: []pub{{"t", 2, 0}},
			filter: "t", since: map[string]message.Position{"t": {Seq: 1}},
			wantGaps: []Gap{{Topic: "t", From: 1, To: 0, Reset: true}},
			wantMsgs: []string{"t:1", "t:2"},
		},
		{
			name: "age limit applies before the sweeper trims", size: 10, ttl: 10 * time.Second,
			pubs:   []pub{{"t", 1, 0}, {"t", 1, 5 * time.Second}, {"t", 1, 3 * time.Second}},
			wait:   4 * time.Second, // ages now 12s, 7s, 4s
			filter: "t", since: map[string]message.Position{"t": {Epoch: cur, Seq: 0}},
			wantGaps: []Gap{{Topic: "t", From: 1, To: 1}},
			wantMsgs: []string{"t:2", "t:3"},
		},
		{
			name: "age limit: everything expired", size: 10, ttl: time.Second,
			pubs: []pub{{"t", 3, 0}}, wait: time.Minute,
			filter: "t", since: map[string]message.Position{"t": {Epoch: cur, Seq: 1}},
			wantGaps: []Gap{{Topic: "t", From: 2, To: 3}},
		},
		{
			name: "topics not matching the filter are ignored", size: 10, pubs: []pub{{"a", 2, 0}, {"b", 2, 0}},
			filter: "a", since: map[string]message.Position{"a": {Epoch: cur, Seq: 1}, "b": {Epoch: cur, Seq: 0}},
			wantMsgs: []string{"a:2"},
		},
		{
			name: "invalid names in since are ignored", size: 10, pubs: []pub{{"a", 1, 0}},
			filter: "#", since: map[string]message.Position{"a/+": {}, "": {}, "a": {}},
			wantMsgs: []string{"a:1"},
		},
		{
			name: "wildcard resumes several topics in name order", size: 2,
			pubs:   []pub{{"room/b", 3, 0}, {"room/a", 2, 0}, {"room/c", 1, 0}, {"other", 1, 0}},
			filter: "room/+",
			since: map[string]message.Position{
				"room/c": {Epoch: cur, Seq: 1}, "room/b": {Epoch: cur, Seq: 0}, "room/a": {Epoch: "gone", Seq: 5}, "other": {},
			},
			wantGaps: []Gap{{Topic: "room/a", From: 1, To: 0, Reset: true}, {Topic: "room/b", From: 1, To: 1}},
			wantMsgs: []string{"room/a:1", "room/a:2", "room/b:2", "room/b:3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			r := newRouter(t, Options{HistorySize: tt.size, HistoryTTL: tt.ttl, Now: c.Now})
			for _, p := range tt.pubs {
				c.Advance(p.after)
				publish(t, r, p.topic, p.n)
			}
			c.Advance(tt.wait)
			since := map[string]message.Position{}
			for name, p := range tt.since {
				if p.Epoch == cur {
					p.Epoch = r.Position(name).Epoch
				}
				since[name] = p
			}
			if tt.since == nil {
				since = nil
			}
			rec := &recorder{}
			calls := 0
			err := r.Subscribe(rec, tt.filter, since, func(g []Gap, m []*message.Message) {
				calls++
				rec.replay(g, m)
			})
			if err != nil {
				t.Fatal(err)
			}
			if tt.noReplay != (calls == 0) || calls > 1 {
				t.Fatalf("replay called %d times, noReplay=%v", calls, tt.noReplay)
			}
			for i := range tt.wantGaps {
				tt.wantGaps[i].Epoch = r.Position(tt.wantGaps[i].Topic).Epoch
			}
			if !slices.Equal(rec.gaps, tt.wantGaps) {
				t.Errorf("gaps = %+v\nwant   %+v", rec.gaps, tt.wantGaps)
			}
			var got []string
			for _, m := range rec.msgs {
				got = append(got, fmt.Sprintf("%s:%d", m.Topic, m.Seq))
			}
			if !slices.Equal(got, tt.wantMsgs) {
				t.Errorf("msgs = %q, want %q", got, tt.wantMsgs)
			}
			// And the subscription is live afterwards.
			publish(t, r, nameFor(tt.filter), 1)
			if n := len(rec.msgs); n != len(tt.wantMsgs)+1 {
				t.Errorf("live message after replay not delivered (%d msgs)", n)
			}
		})
	}
}

// nameFor returns a topic name that filter matches.
func nameFor(filter string) string {
	return strings.NewReplacer("+", "x", "#", "x").Replace(filter)
}

func TestSubscribeErrors(t *testing.T) {
	r := newRouter(t, Options{})
	tests := []struct {
		name   string
		sub    Subscriber
		filter string
		want   error
	}{
		{"nil subscriber", nil, "a", ErrNilSubscriber},
		{"empty filter", &recorder{}, "", topic.ErrInvalidFilter},
		{"hash not last", &recorder{}, "a/#/b", topic.ErrInvalidFilter},
		{"partial plus", &recorder{}, "a+", topic.ErrInvalidFilter},
		{"valid", &recorder{}, "a/+/#", nil},
	}
	for _, tt := range tests {
		if err := r.Subscribe(tt.sub, tt.filter, nil, nil); !errors.Is(err, tt.want) {
			t.Errorf("%s: Subscribe = %v, want %v", tt.name, err, tt.want)
		}
	}
	if n := r.Stats().Subscriptions; n != 1 {
		t.Fatalf("Subscriptions = %d, want 1", n)
	}
}

func TestUnsubscribe(t *testing.T) {
	r := newRouter(t, Options{})
	s, other := &recorder{}, &recorder{}
	_ = r.Subscribe(s, "a/+", nil, nil)
	_ = r.Subscribe(s, "a/b", nil, nil)
	_ = r.Subscribe(other, "a/+", nil, nil)
	steps := []struct {
		unsubscribe string
		sub         *recorder
		want        bool
		publish     string
		sGets       bool
		otherGets   bool
	}{
		{"", nil, false, "a/b", true, true},
		{"a/+", s, true, "a/b", true, true}, // still on a/b
		{"a/+", s, false, "a/c", false, true},
		{"a/b", s, true, "a/b", false, true},
		{"a/b", s, false, "a/b", false, true},
		{"x", other, false, "a/b", false, true},
		{"a/+", other, true, "a/b", false, false},
	}
	for i, st := range steps {
		if st.sub != nil {
			if got := r.Unsubscribe(st.sub, st.unsubscribe); got != st.want {
				t.Fatalf("step %d: Unsubscribe(%q) = %v, want %v", i, st.unsubscribe, got, st.want)
			}
		}
		sn, on := len(s.msgs), len(other.msgs)
		publish(t, r, st.publish, 1)
		if (len(s.msgs) > sn) != st.sGets || (len(other.msgs) > on) != st.otherGets {
			t.Fatalf("step %d: s got %v other got %v", i, len(s.msgs) > sn, len(other.msgs) > on)
		}
	}
	if n := r.Stats().Subscriptions; n != 0 {
		t.Fatalf("Subscriptions = %d, want 0", n)
	}
}

// TestResubscribeWithSince: subscribing again to a filter already held
// still honours since (the caller asked for a replay), without adding a
// second subscription.
func TestResubscribeWithSince(t *testing.T) {
	r := newRouter(t, Options{HistorySize: 10})
	s := &recorder{}
	_ = r.Subscribe(s, "t", nil, nil)
	publish(t, r, "t", 3)
	_ = r.Subscribe(s, "t", map[string]message.Position{"t": {Epoch: r.Position("t").Epoch, Seq: 2}}, s.replay)
	publish(t, r, "t", 1)
	if got := s.seqs(); !slices.Equal(got, []uint64{1, 2, 3, 3, 4}) || r.Stats().Subscriptions != 1 {
		t.Fatalf("seqs %v subs %d", got, r.Stats().Subscriptions)
	}
}

// TestSubscribeReplayAtomic is the property behind resuming: while
// publishers run flat out, subscribers keep joining with a position
// somewhere behind the live one. Each must then see every later message of
// its topics exactly once, in order: replayed or live, never both, never
// neither. Gaps are allowed only before the first message received, and
// must cover exactly what is missing there.
func TestSubscribeReplayAtomic(t *testing.T) {
	const (
		topics      = 3
		perTopic    = 3000
		subscribers = 150
	)
	r := newRouter(t, Options{HistorySize: 64})
	names := make([]string, topics)
	for i := range names {
		names[i] = fmt.Sprint("live/", i)
		r.Position(names[i]) // fix the epochs
	}
	var wg sync.WaitGroup
	for _, name := range names {
		for range 2 { // two publishers per topic
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perTopic / 2 {
					if err := r.Publish(context.Background(), &message.Message{Topic: name}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	type joined struct {
		rec   *recorder
		since map[string]message.Position
	}
	results := make(chan joined, subscribers)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rnd := rand.New(rand.NewPCG(7, 7))
		for i := range subscribers {
			since := map[string]message.Position{}
			for _, name := range names {
				p := r.Position(name)
				back := rnd.Uint64N(100) // sometimes beyond history: a gap
				p.Seq -= min(p.Seq, back)
				since[name] = p
			}
			rec := &recorder{}
			filter := []string{"live/+", "live/#", "#"}[i%3]
			if err := r.Subscribe(rec, filter, since, rec.replay); err != nil {
				t.Error(err)
			}
			if i%2 == 0 { // an overlapping filter must not duplicate
				_ = r.Subscribe(rec, names[0], nil, nil)
			}
			results <- joined{rec, since}
		}
	}()
	wg.Wait()
	close(results)
	for j := range results {
		j.rec.mu.Lock()
		for _, name := range names {
			from := j.since[name].Seq + 1
			var gapped []uint64
			for _, g := range j.rec.gaps {
				if g.Topic == name {
					if g.Reset {
						t.Fatalf("%s: unexpected reset gap %+v", name, g)
					}
					for s := g.From; s <= g.To; s++ {
						gapped = append(gapped, s)
					}
				}
			}
			var got []uint64
			for _, m := range j.rec.msgs {
				if m.Topic == name {
					got = append(got, m.Seq)
				}
			}
			all := append(gapped, got...)
			for k, seq := range all {
				if seq != from+uint64(k) {
					t.Fatalf("%s since %d: gaps %v then messages %v: expected %d at %d",
						name, from-1, gapped, got, from+uint64(k), k)
				}
			}
			if last := from + uint64(len(all)) - 1; last != perTopic {
				t.Fatalf("%s since %d: ends at %d, want %d", name, from-1, last, perTopic)
			}
		}
		j.rec.mu.Unlock()
	}
}

func BenchmarkSubscribeWithReplay(b *testing.B) {
	r := newRouter(b, Options{HistorySize: 100})
	publish(b, r, "t", 1000)
	since := map[string]message.Position{"t": {Epoch: r.Position("t").Epoch, Seq: 950}}
	replay := func([]Gap, []*message.Message) {}
	b.ReportAllocs()
	for b.Loop() {
		s := &counter{}
		_ = r.Subscribe(s, "t", since, replay)
		r.Unsubscribe(s, "t")
	}
}
