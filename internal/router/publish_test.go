package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

func TestFanOut(t *testing.T) {
	tests := []struct {
		name    string
		subs    map[string][]string // subscriber -> filters
		publish []string
		want    map[string][]string // subscriber -> topics received, in order
	}{
		{
			name:    "exact",
			subs:    map[string][]string{"s": {"a/b"}},
			publish: []string{"a/b", "a/c", "a"},
			want:    map[string][]string{"s": {"a/b"}},
		},
		{
			name:    "single-level wildcard",
			subs:    map[string][]string{"s": {"sport/+"}},
			publish: []string{"sport", "sport/", "sport/tennis", "sport/tennis/x"},
			want:    map[string][]string{"s": {"sport/", "sport/tennis"}},
		},
		{
			name:    "multi-level wildcard includes parent",
			subs:    map[string][]string{"s": {"sport/tennis/player1/#"}},
			publish: []string{"sport/tennis/player1", "sport/tennis/player1/ranking", "sport/tennis/player1/score/wimbledon", "sport/tennis/player2"},
			want:    map[string][]string{"s": {"sport/tennis/player1", "sport/tennis/player1/ranking", "sport/tennis/player1/score/wimbledon"}},
		},
		{
			name:    "dollar topics hidden from leading wildcards",
			subs:    map[string][]string{"all": {"#"}, "plus": {"+/monitor"}, "sys": {"$SYS/#"}},
			publish: []string{"$SYS/monitor", "app/monitor"},
			want:    map[string][]string{"all": {"app/monitor"}, "plus": {"app/monitor"}, "sys": {"$SYS/monitor"}},
		},
		{
			name:    "overlapping filters deliver once",
			subs:    map[string][]string{"s": {"a/b", "a/+", "a/#", "#", "+/b"}},
			publish: []string{"a/b", "a/c", "x/b"},
			want:    map[string][]string{"s": {"a/b", "a/c", "x/b"}},
		},
		{
			name: "overlap for one subscriber does not hide others",
			subs: map[string][]string{
				"both": {"a/+", "a/b"}, "plus": {"a/+"}, "exact": {"a/b"}, "none": {"b/#"},
			},
			publish: []string{"a/b"},
			want:    map[string][]string{"both": {"a/b"}, "plus": {"a/b"}, "exact": {"a/b"}},
		},
		{
			name:    "empty levels",
			subs:    map[string][]string{"s": {"a//b"}, "p": {"a/+/b"}, "root": {"/+"}},
			publish: []string{"a//b", "a/b", "/x", "/"},
			want:    map[string][]string{"s": {"a//b"}, "p": {"a//b"}, "root": {"/x", "/"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRouter(t, Options{})
			recs := map[string]*recorder{}
			for name, filters := range tt.subs {
				recs[name] = &recorder{name: name}
				for _, f := range filters {
					if err := r.Subscribe(recs[name], f, nil, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, name := range tt.publish {
				publish(t, r, name, 1)
			}
			for name, rec := range recs {
				if got := rec.topics(); !slices.Equal(got, tt.want[name]) {
					t.Errorf("%s received %q, want %q", name, got, tt.want[name])
				}
			}
		})
	}
}

// TestFanOutLargeOverlap exercises the map-based de-duplication (more
// candidates than linearDedupe) and the pooled scratch's reuse.
func TestFanOutLargeOverlap(t *testing.T) {
	r := newRouter(t, Options{})
	recs := make([]*recorder, 100)
	for i := range recs {
		recs[i] = &recorder{}
		_ = r.Subscribe(recs[i], "a/+", nil, nil)
		if i%2 == 0 {
			_ = r.Subscribe(recs[i], "a/#", nil, nil)
		}
	}
	publish(t, r, "a/b", 3)
	for i, rec := range recs {
		if got := rec.seqs(); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("subscriber %d got %v", i, got)
		}
	}
}

func TestPublishStamps(t *testing.T) {
	c := newClock()
	r := newRouter(t, Options{Now: c.Now})
	var prevID uint64
	for i, name := range []string{"a", "b", "a", "a", "b"} {
		m := &message.Message{Topic: name}
		if err := r.Publish(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		wantSeq := map[int]uint64{0: 1, 1: 1, 2: 2, 3: 3, 4: 2}[i]
		if m.Seq != wantSeq || m.ID <= prevID || m.Epoch != r.Position(name).Epoch || !m.Time.Equal(c.Now()) {
			t.Fatalf("publish %d: %+v (want seq %d, id > %d)", i, m, wantSeq, prevID)
		}
		prevID = m.ID
		c.Advance(1)
	}
}

func TestPublishErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	published := &message.Message{Topic: "t"}
	tests := []struct {
		name string
		ctx  context.Context
		m    *message.Message
		want error
	}{
		{"nil message", context.Background(), nil, ErrNilMessage},
		{"empty topic", context.Background(), &message.Message{}, topic.ErrInvalidName},
		{"wildcard topic", context.Background(), &message.Message{Topic: "t/+"}, topic.ErrInvalidName},
		{"published twice", context.Background(), published, ErrPublished},
		{"canceled context", canceled, &message.Message{Topic: "t"}, context.Canceled},
	}
	r := newRouter(t, Options{HistorySize: 10})
	if err := r.Publish(t.Context(), published); err != nil {
		t.Fatal(err)
	}
	s := &recorder{}
	_ = r.Subscribe(s, "#", nil, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.Position("t")
			err := r.Publish(tt.ctx, tt.m)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Publish = %v, want %v", err, tt.want)
			}
			if after := r.Position("t"); after != before {
				t.Fatalf("position moved %+v -> %+v on error", before, after)
			}
			if tt.m != nil && tt.m != published && (tt.m.ID != 0 || tt.m.Seq != 0 || tt.m.Epoch != "") {
				t.Fatalf("failed publish left the message stamped: %+v", tt.m)
			}
		})
	}
	if len(s.msgs) != 0 || r.Stats().Published != 1 {
		t.Fatalf("failed publishes delivered %d / counted %d", len(s.msgs), r.Stats().Published)
	}
}

// TestPerTopicOrder: concurrent publishers on a few topics; each subscriber
// must see every topic's messages exactly once and in Seq order, whatever
// the interleaving across topics.
func TestPerTopicOrder(t *testing.T) {
	r := newRouter(t, Options{HistorySize: 8})
	const topics, publishers, each = 3, 8, 500
	subs := []*recorder{{}, {}, {}}
	_ = r.Subscribe(subs[0], "t/#", nil, nil)
	_ = r.Subscribe(subs[1], "t/+", nil, nil)
	_ = r.Subscribe(subs[2], "t/0", nil, nil)
	_ = r.Subscribe(subs[2], "t/+", nil, nil) // overlap
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				name := fmt.Sprint("t/", (p+i)%topics)
				if err := r.Publish(context.Background(), &message.Message{Topic: name}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, s := range subs {
		last := map[string]uint64{}
		for _, m := range s.msgs {
			if m.Seq != last[m.Topic]+1 {
				t.Fatalf("sub %d: %s seq %d after %d", i, m.Topic, m.Seq, last[m.Topic])
			}
			last[m.Topic] = m.Seq
		}
		var total uint64
		for _, n := range last {
			total += n
		}
		if total != publishers*each {
			t.Fatalf("sub %d received %d, want %d", i, total, publishers*each)
		}
	}
}

func TestFanOutAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	r := newRouter(t, Options{})
	for range 1000 {
		_ = r.Subscribe(&counter{}, "room/+", nil, nil)
	}
	overlap := &counter{}
	_ = r.Subscribe(overlap, "room/+", nil, nil)
	_ = r.Subscribe(overlap, "#", nil, nil)
	msgs := make([]message.Message, 300)
	i := 0
	for _, name := range []string{"room/1", "other"} {
		r.deliver(&msgs[0]) // warm the scratch pool
		allocs := testing.AllocsPerRun(100, func() {
			msgs[i].Topic = name
			r.deliver(&msgs[i])
			i++
		})
		if allocs != 0 {
			t.Errorf("fan-out of %q allocates %v times", name, allocs)
		}
	}
}

// publishBench publishes b.N fresh messages to names round-robin; the
// Message allocation is the one alloc/op the caller owns.
func publishBench(b *testing.B, r *Router, names []string) {
	ctx := context.Background()
	data := []byte(`{"n":1}`)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := r.Publish(ctx, &message.Message{Topic: names[i%len(names)], Data: data}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkPublish(b *testing.B) {
	for _, history := range []int{0, 64} {
		b.Run(fmt.Sprintf("history=%d/1 subscriber", history), func(b *testing.B) {
			r := newRouter(b, Options{HistorySize: history})
			_ = r.Subscribe(&counter{}, "chat/room", nil, nil)
			publishBench(b, r, []string{"chat/room"})
		})
		b.Run(fmt.Sprintf("history=%d/1000 subscribers one filter", history), func(b *testing.B) {
			r := newRouter(b, Options{HistorySize: history})
			for range 1000 {
				_ = r.Subscribe(&counter{}, "chat/+", nil, nil)
			}
			publishBench(b, r, []string{"chat/room"})
		})
		b.Run(fmt.Sprintf("history=%d/1000 subscribers overlapping", history), func(b *testing.B) {
			r := newRouter(b, Options{HistorySize: history})
			for i := range 1000 {
				s := &counter{}
				_ = r.Subscribe(s, "chat/+", nil, nil)
				if i%10 == 0 {
					_ = r.Subscribe(s, "chat/#", nil, nil)
				}
			}
			publishBench(b, r, []string{"chat/room"})
		})
		b.Run(fmt.Sprintf("history=%d/10000 distinct topics", history), func(b *testing.B) {
			r := newRouter(b, Options{HistorySize: history})
			names := make([]string, 10000)
			for i := range names {
				names[i] = fmt.Sprintf("sensors/%d/temp", i)
				_ = r.Subscribe(&counter{}, names[i], nil, nil)
			}
			publishBench(b, r, names)
		})
	}
}

func BenchmarkPublishParallelTopics(b *testing.B) {
	r := newRouter(b, Options{HistorySize: 64})
	_ = r.Subscribe(&nop{}, "#", nil, nil)
	var mu sync.Mutex
	next := 0
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		name := fmt.Sprint("t/", next)
		next++
		mu.Unlock()
		ctx := context.Background()
		for pb.Next() {
			_ = r.Publish(ctx, &message.Message{Topic: name})
		}
	})
}
