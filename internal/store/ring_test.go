package store

import (
	"slices"
	"testing"

	"github.com/heraldhq/herald/internal/message"
)

func seqs(r *ring) []uint64 {
	var out []uint64
	r.since(0, func(m *message.Message) { out = append(out, m.Seq) })
	return out
}

func TestRing(t *testing.T) {
	tests := []struct {
		name    string
		limit   int
		push    int // messages 1..push
		pop     int // then pop this many oldest
		want    []uint64
		wantCap int
	}{
		{"empty", 10, 0, 0, nil, 0},
		{"one message allocates little", 1000, 1, 0, []uint64{1}, minRing},
		{"grows by doubling", 1000, 5, 0, []uint64{1, 2, 3, 4, 5}, 8},
		{"growth capped at limit", 6, 6, 0, []uint64{1, 2, 3, 4, 5, 6}, 6},
		{"wraps when full", 3, 7, 0, []uint64{5, 6, 7}, 3},
		{"limit below first allocation", 2, 5, 0, []uint64{4, 5}, 2},
		{"pop after wrap", 4, 6, 2, []uint64{5, 6}, 4},
		{"pop everything", 4, 3, 3, nil, 4},
		{"grow after wrap keeps order", 16, 12, 3, []uint64{4, 5, 6, 7, 8, 9, 10, 11, 12}, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r ring
			for i := 1; i <= tt.push; i++ {
				r.push(&message.Message{Seq: uint64(i)}, tt.limit)
			}
			for range tt.pop {
				r.popOldest()
			}
			if got := seqs(&r); !slices.Equal(got, tt.want) {
				t.Fatalf("held %v, want %v", got, tt.want)
			}
			if len(r.buf) != tt.wantCap {
				t.Fatalf("buffer %d slots, want %d", len(r.buf), tt.wantCap)
			}
			if n := r.n; n > 0 {
				if r.oldest().Seq != tt.want[0] || r.newest().Seq != tt.want[n-1] {
					t.Fatalf("oldest/newest = %d/%d", r.oldest().Seq, r.newest().Seq)
				}
			} else if r.oldest() != nil || r.newest() != nil {
				t.Fatal("empty ring has oldest/newest")
			}
			held := 0
			for _, m := range r.buf {
				if m != nil {
					held++
				}
			}
			if held != r.n {
				t.Fatalf("%d non-nil slots for %d messages: popped slots must be cleared", held, r.n)
			}
		})
	}
}

func TestRingSinceAndReset(t *testing.T) {
	var r ring
	for i := uint64(10); i < 20; i++ {
		r.push(&message.Message{Seq: i}, 8) // holds 12..19
	}
	for _, tt := range []struct {
		after uint64
		want  []uint64
	}{
		{0, []uint64{12, 13, 14, 15, 16, 17, 18, 19}},
		{12, []uint64{13, 14, 15, 16, 17, 18, 19}},
		{18, []uint64{19}},
		{19, nil},
		{1 << 60, nil},
	} {
		var got []uint64
		r.since(tt.after, func(m *message.Message) { got = append(got, m.Seq) })
		if !slices.Equal(got, tt.want) {
			t.Errorf("since(%d) = %v, want %v", tt.after, got, tt.want)
		}
	}
	r.reset()
	if r.n != 0 || seqs(&r) != nil || slices.ContainsFunc(r.buf, func(m *message.Message) bool { return m != nil }) {
		t.Fatal("reset left messages behind")
	}
}
