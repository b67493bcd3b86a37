package outq

import (
	"errors"
	"fmt"
	"testing"
)

func pub(key, body string) Item {
	return Item{Shared: []byte(body), Key: key, Droppable: true}
}

func drained(q *Queue) []string {
	var out []string
	for _, b := range q.Drain(nil) {
		out = append(out, string(b))
	}
	return out
}

func TestPolicies(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		push    []Item
		want    []string
		dropped int
		overErr bool
	}{
		{"under the limit", Disconnect, []Item{pub("a", "1"), pub("b", "2")}, []string{"1", "2"}, 0, false},
		{"disconnect when full", Disconnect, []Item{pub("a", "1"), pub("a", "2"), pub("a", "3"), pub("a", "4")}, nil, 0, true},
		{"drop oldest", DropOldest, []Item{pub("a", "1"), pub("b", "2"), pub("c", "3"), pub("d", "4")}, []string{"2", "3", "4"}, 1, false},
		{"keep latest replaces same topic", KeepLatest, []Item{pub("a", "1"), pub("b", "2"), pub("a", "3"), pub("a", "4")}, []string{"1", "2", "4"}, 1, false},
		{"keep latest falls back to drop oldest", KeepLatest, []Item{pub("a", "1"), pub("b", "2"), pub("c", "3"), pub("d", "4")}, []string{"2", "3", "4"}, 1, false},
		{"responses are never dropped", DropOldest, []Item{{Shared: []byte("r1")}, pub("a", "1"), {Shared: []byte("r2")}, pub("b", "2")}, []string{"r1", "r2", "2"}, 1, false},
		{"responses may exceed the limit", Disconnect, []Item{pub("a", "1"), pub("b", "2"), pub("c", "3"), {Shared: []byte("r")}}, []string{"1", "2", "3", "r"}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := New(Limits{Messages: 3, Policy: tc.policy})
			dropped := 0
			var err error
			for _, it := range tc.push {
				var d int
				d, err = q.Push(it, 0)
				dropped += d
				if err != nil {
					break
				}
			}
			if tc.overErr {
				if !errors.Is(err, ErrOverflow) {
					t.Fatalf("err = %v, want ErrOverflow", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected %v", err)
			}
			if dropped != tc.dropped {
				t.Errorf("dropped %d, want %d", dropped, tc.dropped)
			}
			if got := drained(&q); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("queue = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestByteLimitCountsInflight(t *testing.T) {
	q := New(Limits{Messages: 100, Bytes: 10, Policy: Disconnect})
	if _, err := q.Push(pub("a", "12345"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Push(pub("a", "12345"), 1); !errors.Is(err, ErrOverflow) {
		t.Fatalf("push over the byte limit with inflight bytes: %v", err)
	}
	if q.Bytes() != 5 || q.Len() != 1 {
		t.Fatalf("Bytes=%d Len=%d", q.Bytes(), q.Len())
	}
}

func TestDrainReleasesBuffer(t *testing.T) {
	q := New(Limits{})
	for i := range 100 {
		q.Push(Item{Own: []byte{'h'}, Shared: []byte{byte(i)}, Droppable: true}, 0)
	}
	bufs := q.Drain(nil)
	if len(bufs) != 200 || q.Len() != 0 || q.Bytes() != 0 || q.box != nil {
		t.Fatalf("after drain: %d bufs, len %d, bytes %d, items %v", len(bufs), q.Len(), q.Bytes(), q.box != nil)
	}
	if bufs[1][0] != 0 || bufs[199][0] != 99 {
		t.Fatal("drain lost order")
	}
}

func TestDropOldestKeepsOrderAcrossWrap(t *testing.T) {
	q := New(Limits{Messages: 4, Policy: DropOldest})
	for i := range 10 {
		q.Push(pub("", fmt.Sprint(i)), 0)
	}
	if got := fmt.Sprint(drained(&q)); got != "[6 7 8 9]" {
		t.Fatalf("queue = %s", got)
	}
}

func TestParsePolicy(t *testing.T) {
	for _, p := range []Policy{Disconnect, DropOldest, KeepLatest} {
		got, err := ParsePolicy(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePolicy(%q) = %v, %v", p, got, err)
		}
	}
	if _, err := ParsePolicy("bogus"); err == nil {
		t.Error("bogus policy accepted")
	}
}

func BenchmarkPushDrain(b *testing.B) {
	q := New(Limits{})
	shared := make([]byte, 64)
	bufs := make([][]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		for range 32 {
			q.Push(Item{Shared: shared, Droppable: true}, 0)
		}
		bufs = q.Drain(bufs[:0])
	}
}

func TestRingsAreRecycledNotShared(t *testing.T) {
	q1, q2 := New(Limits{}), New(Limits{})
	for i := range 20 {
		q1.Push(pub("", fmt.Sprint(i)), 0)
	}
	q1.Drain(nil) // its ring goes back to a pool, cleared
	for i := range 20 {
		q2.Push(pub("", fmt.Sprint(100+i)), 0)
	}
	q1.Push(pub("", "x"), 0)
	if got := drained(&q2); len(got) != 20 || got[0] != "100" || got[19] != "119" {
		t.Fatalf("q2 = %v", got)
	}
	if got := drained(&q1); len(got) != 1 || got[0] != "x" {
		t.Fatalf("q1 = %v", got)
	}
}

func TestRingClass(t *testing.T) {
	for size, want := range map[int]int{4: 0, 8: 1, 16: 2, 1024: 8, 2048: 9} {
		if got := ringClass(size); got != want {
			t.Errorf("ringClass(%d) = %d, want %d", size, got, want)
		}
	}
}
