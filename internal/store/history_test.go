package store

import (
	"slices"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

// historyConformance checks the History contract; any implementation
// (memory now, file-backed later) should pass it.
func historyConformance(t *testing.T, newHistory func(size int, ttl time.Duration) History) {
	t0 := time.Unix(1_700_000_000, 0)
	msg := func(topic, epoch string, seq uint64, at time.Duration) *message.Message {
		return &message.Message{Topic: topic, Epoch: epoch, Seq: seq, Time: t0.Add(at)}
	}
	type step struct {
		append *message.Message
		trim   time.Duration // Trim(t0 + trim) when > 0
		drop   string
	}
	tests := []struct {
		name       string
		size       int
		ttl        time.Duration
		steps      []step
		topic      string
		after      uint64
		want       []uint64
		wantOldest uint64
	}{
		{
			name: "unknown topic", size: 10,
			topic: "nope", want: nil, wantOldest: 0,
		},
		{
			name: "all after zero", size: 10,
			steps: []step{{append: msg("t", "e", 1, 0)}, {append: msg("t", "e", 2, 0)}, {append: msg("t", "e", 3, 0)}},
			topic: "t", after: 0, want: []uint64{1, 2, 3}, wantOldest: 1,
		},
		{
			name: "after the middle", size: 10,
			steps: []step{{append: msg("t", "e", 1, 0)}, {append: msg("t", "e", 2, 0)}, {append: msg("t", "e", 3, 0)}},
			topic: "t", after: 2, want: []uint64{3}, wantOldest: 1,
		},
		{
			name: "after the newest", size: 10,
			steps: []step{{append: msg("t", "e", 1, 0)}, {append: msg("t", "e", 2, 0)}},
			topic: "t", after: 2, want: nil, wantOldest: 1,
		},
		{
			name: "after beyond the newest", size: 10,
			steps: []step{{append: msg("t", "e", 1, 0)}},
			topic: "t", after: 99, want: nil, wantOldest: 1,
		},
		{
			name: "count bound keeps the newest", size: 3,
			steps: []step{{append: msg("t", "e", 1, 0)}, {append: msg("t", "e", 2, 0)}, {append: msg("t", "e", 3, 0)}, {append: msg("t", "e", 4, 0)}, {append: msg("t", "e", 5, 0)}},
			topic: "t", after: 0, want: []uint64{3, 4, 5}, wantOldest: 3,
		},
		{
			name: "count bound: after older than held", size: 2,
			steps: []step{{append: msg("t", "e", 1, 0)}, {append: msg("t", "e", 2, 0)}, {append: msg("t", "e", 3, 0)}, {append: msg("t", "e", 4, 0)}},
			topic: "t", after: 1, want: []uint64{3, 4}, wantOldest: 3,
		},
		{
			name: "size zero keeps nothing", size: 0,
			steps: []step{{append: msg("t", "e", 1, 0)}},
			topic: "t", want: nil, wantOldest: 0,
		},
		{
			name: "negative size keeps nothing", size: -5,
			steps: []step{{append: msg("t", "e", 1, 0)}},
			topic: "t", want: nil, wantOldest: 0,
		},
		{
			name: "topics are separate", size: 10,
			steps: []step{{append: msg("a", "e", 1, 0)}, {append: msg("b", "f", 1, 0)}, {append: msg("a", "e", 2, 0)}},
			topic: "a", want: []uint64{1, 2}, wantOldest: 1,
		},
		{
			name: "new epoch replaces history", size: 10,
			steps: []step{{append: msg("t", "old", 1, 0)}, {append: msg("t", "old", 2, 0)}, {append: msg("t", "new", 1, 0)}},
			topic: "t", want: []uint64{1}, wantOldest: 1,
		},
		{
			name: "age bound drops expired", size: 10, ttl: 10 * time.Second,
			steps: []step{
				{append: msg("t", "e", 1, 0)}, {append: msg("t", "e", 2, 5*time.Second)}, {append: msg("t", "e", 3, 8*time.Second)},
				{trim: 15 * time.Second}, // 1 (age 15s) and 2 (age exactly 10s) expire
			},
			topic: "t", want: []uint64{3}, wantOldest: 3,
		},
		{
			name: "age bound not yet reached", size: 10, ttl: 10 * time.Second,
			steps: []step{{append: msg("t", "e", 1, 0)}, {trim: 9 * time.Second}},
			topic: "t", want: []uint64{1}, wantOldest: 1,
		},
		{
			name: "age bound expires everything", size: 10, ttl: time.Second,
			steps: []step{{append: msg("t", "e", 1, 0)}, {append: msg("t", "e", 2, 0)}, {trim: time.Hour}},
			topic: "t", want: nil, wantOldest: 0,
		},
		{
			name: "no age limit", size: 10, ttl: 0,
			steps: []step{{append: msg("t", "e", 1, 0)}, {trim: 1000 * time.Hour}},
			topic: "t", want: []uint64{1}, wantOldest: 1,
		},
		{
			name: "trim then append more", size: 10, ttl: 10 * time.Second,
			steps: []step{
				{append: msg("t", "e", 1, 0)}, {trim: 20 * time.Second},
				{append: msg("t", "e", 2, 20*time.Second)}, {trim: 25 * time.Second},
			},
			topic: "t", want: []uint64{2}, wantOldest: 2,
		},
		{
			name: "trim of another topic leaves this one", size: 10, ttl: 10 * time.Second,
			steps: []step{{append: msg("old", "e", 1, 0)}, {append: msg("t", "e", 1, 30*time.Second)}, {trim: 35 * time.Second}},
			topic: "t", want: []uint64{1}, wantOldest: 1,
		},
		{
			name: "drop", size: 10,
			steps: []step{{append: msg("t", "e", 1, 0)}, {append: msg("u", "e", 1, 0)}, {drop: "t"}},
			topic: "t", want: nil, wantOldest: 0,
		},
		{
			name: "drop unknown is harmless", size: 10,
			steps: []step{{append: msg("t", "e", 1, 0)}, {drop: "zzz"}},
			topic: "t", want: []uint64{1}, wantOldest: 1,
		},
		{
			name: "append after drop", size: 10,
			steps: []step{{append: msg("t", "e", 1, 0)}, {drop: "t"}, {append: msg("t", "e2", 1, 0)}},
			topic: "t", want: []uint64{1}, wantOldest: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHistory(tt.size, tt.ttl)
			for _, s := range tt.steps {
				switch {
				case s.append != nil:
					h.Append(s.append)
				case s.trim > 0:
					h.Trim(t0.Add(s.trim))
				case s.drop != "":
					h.Drop(s.drop)
				}
			}
			var got []uint64
			oldest := h.Since(tt.topic, tt.after, func(m *message.Message) {
				if m.Topic != tt.topic {
					t.Fatalf("Since(%q) yielded topic %q", tt.topic, m.Topic)
				}
				got = append(got, m.Seq)
			})
			if !slices.Equal(got, tt.want) || oldest != tt.wantOldest {
				t.Fatalf("Since(%q, %d) = %v oldest %d, want %v oldest %d", tt.topic, tt.after, got, oldest, tt.want, tt.wantOldest)
			}
			if o := h.Since(tt.topic, tt.after, nil); o != tt.wantOldest {
				t.Fatalf("Since with nil fn: oldest %d, want %d", o, tt.wantOldest)
			}
		})
	}
}

func TestMemoryHistoryConformance(t *testing.T) {
	historyConformance(t, func(size int, ttl time.Duration) History { return NewMemoryHistory(size, ttl) })
}
