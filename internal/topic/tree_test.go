package topic

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// collect returns the values tree t visits for name, sorted.
func collect[V comparable](t *Tree[V], name string, less func(a, b V) int) []V {
	var got []V
	t.Match(name, func(v V) { got = append(got, v) })
	slices.SortFunc(got, less)
	return got
}

func TestTreeMatchesSpecCases(t *testing.T) {
	// One tree holding every filter of the table at once: each name must
	// visit exactly the filters Match says, which also checks that the
	// filters do not interfere with one another inside the trie.
	var tr Tree[string]
	filters := map[string]bool{}
	for _, c := range matchCases {
		if ValidFilter(c.filter) == nil && !filters[c.filter] {
			filters[c.filter] = true
			if !tr.Add(c.filter, c.filter) {
				t.Fatalf("Add(%q) = false", c.filter)
			}
		}
	}
	for _, c := range matchCases {
		var want []string
		for f := range filters {
			if Match(f, c.name) {
				want = append(want, f)
			}
		}
		slices.Sort(want)
		got := collect(&tr, c.name, strings.Compare)
		if !slices.Equal(got, want) {
			t.Errorf("Tree.Match(%q) = %q, want %q", c.name, got, want)
		}
		if filters[c.filter] && slices.Contains(got, c.filter) != c.match {
			t.Errorf("Tree.Match(%q) visits %q = %v, want %v", c.name, c.filter, !c.match, c.match)
		}
	}
}

func TestTreeAddRemove(t *testing.T) {
	type op struct {
		add    bool // else remove
		filter string
		v      int
		want   bool
	}
	tests := []struct {
		name    string
		ops     []op
		wantLen int
		probe   string
		visits  []int
	}{
		{
			name:    "add twice is a no-op",
			ops:     []op{{true, "a/b", 1, true}, {true, "a/b", 1, false}},
			wantLen: 1, probe: "a/b", visits: []int{1},
		},
		{
			name:    "same value two filters is visited twice",
			ops:     []op{{true, "a/+", 1, true}, {true, "a/#", 1, true}, {true, "a/b", 1, true}},
			wantLen: 3, probe: "a/b", visits: []int{1, 1, 1},
		},
		{
			name:    "two values one filter",
			ops:     []op{{true, "a/b", 1, true}, {true, "a/b", 2, true}},
			wantLen: 2, probe: "a/b", visits: []int{1, 2},
		},
		{
			name:    "remove absent value",
			ops:     []op{{true, "a/b", 1, true}, {false, "a/b", 2, false}, {false, "a/c", 1, false}, {false, "a", 1, false}, {false, "a/b/c", 1, false}},
			wantLen: 1, probe: "a/b", visits: []int{1},
		},
		{
			name:    "remove keeps siblings",
			ops:     []op{{true, "a/b", 1, true}, {true, "a/b", 2, true}, {true, "a/+", 3, true}, {false, "a/b", 1, true}},
			wantLen: 2, probe: "a/b", visits: []int{2, 3},
		},
		{
			name:    "remove wildcard",
			ops:     []op{{true, "a/#", 1, true}, {true, "+/b", 2, true}, {false, "a/#", 1, true}, {false, "+/b", 2, true}, {false, "+/b", 2, false}},
			wantLen: 0, probe: "a/b",
		},
		{
			name:    "invalid filters are refused",
			ops:     []op{{true, "", 1, false}, {true, "a/#/b", 1, false}, {true, "a+", 1, false}, {false, "", 1, false}, {false, "a/#/b", 1, false}},
			wantLen: 0, probe: "a",
		},
		{
			name:    "parent and child filters",
			ops:     []op{{true, "a", 1, true}, {true, "a/b", 2, true}, {false, "a", 1, true}},
			wantLen: 1, probe: "a/b", visits: []int{2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr Tree[int]
			for _, o := range tt.ops {
				var got bool
				if o.add {
					got = tr.Add(o.filter, o.v)
				} else {
					got = tr.Remove(o.filter, o.v)
				}
				if got != o.want {
					t.Fatalf("add=%v(%q, %d) = %v, want %v", o.add, o.filter, o.v, got, o.want)
				}
			}
			if tr.Len() != tt.wantLen {
				t.Fatalf("Len = %d, want %d", tr.Len(), tt.wantLen)
			}
			if got := collect(&tr, tt.probe, cmpInt); !slices.Equal(got, tt.visits) {
				t.Fatalf("Match(%q) = %v, want %v", tt.probe, got, tt.visits)
			}
			if tt.wantLen == 0 && !tr.root.empty() {
				t.Fatalf("empty tree keeps nodes: %+v", tr.root)
			}
		})
	}
}

func TestTreePrunes(t *testing.T) {
	var tr Tree[int]
	filters := []string{"a/b/c/d", "a/+/c", "a/b/#", "#", "+", "x//y", "$SYS/+/z"}
	for i, f := range filters {
		tr.Add(f, i)
		tr.Add(f, i+100)
	}
	for i, f := range filters {
		tr.Remove(f, i)
		tr.Remove(f, i+100)
	}
	if tr.Len() != 0 || !tr.root.empty() {
		t.Fatalf("after removing everything: Len=%d root=%+v", tr.Len(), tr.root)
	}
}

func TestTreeMatchGroups(t *testing.T) {
	var tr Tree[int]
	for v := range 5 {
		tr.Add("a/b", v)
	}
	tr.Add("a/+", 9)
	tr.Add("#", 7)
	var groups [][]int
	tr.MatchGroups("a/b", func(vs []int) { groups = append(groups, slices.Sorted(slices.Values(vs))) })
	slices.SortFunc(groups, func(a, b []int) int { return len(a) - len(b) })
	want := [][]int{{7}, {9}, {0, 1, 2, 3, 4}}
	if fmt.Sprint(groups) != fmt.Sprint(want) {
		t.Fatalf("groups = %v, want %v", groups, want)
	}
	tr.MatchGroups("zzz/q", func(vs []int) {
		if len(vs) == 0 {
			t.Fatal("MatchGroups passed an empty group")
		}
	})
}

func TestTreeMatchAllocs(t *testing.T) {
	var tr Tree[*int]
	for range 100 {
		tr.Add("sport/+/player1/#", new(int))
	}
	tr.Add("sport/tennis/player1/score", new(int))
	n := 0
	if a := testing.AllocsPerRun(100, func() {
		tr.Match("sport/tennis/player1/score", func(*int) { n++ })
	}); a != 0 {
		t.Fatalf("Tree.Match allocates %v times", a)
	}
}

// randomLevels is a small alphabet so that random filters and names collide
// often, including on empty levels and '$'.
var randomLevels = []string{"a", "b", "", "$s", "ab"}

func randomName(r *rand.Rand) string {
	n := 1 + r.IntN(4)
	ls := make([]string, n)
	for i := range ls {
		ls[i] = randomLevels[r.IntN(len(randomLevels))]
	}
	if s := strings.Join(ls, "/"); s != "" {
		return s
	}
	return randomName(r) // "" is not a valid name
}

func randomFilter(r *rand.Rand) string {
	n := 1 + r.IntN(4)
	ls := make([]string, n)
	for i := range ls {
		switch x := r.IntN(10); {
		case x < 3:
			ls[i] = "+"
		case x < 4 && i == n-1:
			ls[i] = "#"
		default:
			ls[i] = randomLevels[r.IntN(len(randomLevels))]
		}
	}
	if s := strings.Join(ls, "/"); s != "" {
		return s
	}
	return randomFilter(r) // "" is not a valid filter
}

// TestTreeAgreesWithMatch is a property test: for random sets of filters
// (with values added and removed again), Tree.Match visits exactly the
// values whose filter Match accepts, as a multiset.
func TestTreeAgreesWithMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		var tr Tree[int]
		type pair struct {
			filter string
			v      int
		}
		live := map[pair]bool{}
		for range 1 + r.IntN(40) {
			p := pair{randomFilter(r), r.IntN(6)}
			if got := tr.Add(p.filter, p.v); got == live[p] {
				t.Fatalf("round %d: Add(%q,%d) = %v with present=%v", round, p.filter, p.v, got, live[p])
			}
			live[p] = true
			if r.IntN(4) == 0 { // and sometimes remove one again
				for q := range live {
					if !tr.Remove(q.filter, q.v) {
						t.Fatalf("round %d: Remove(%q,%d) = false", round, q.filter, q.v)
					}
					delete(live, q)
					break
				}
			}
		}
		if tr.Len() != len(live) {
			t.Fatalf("round %d: Len = %d, want %d", round, tr.Len(), len(live))
		}
		for range 30 {
			name := randomName(r)
			var want []int
			for p := range live {
				if Match(p.filter, name) {
					want = append(want, p.v)
				}
			}
			slices.Sort(want)
			if got := collect(&tr, name, cmpInt); !slices.Equal(got, want) {
				t.Fatalf("round %d: Tree.Match(%q) = %v, want %v (filters %v)", round, name, got, want, live)
			}
		}
	}
}

// FuzzTreeMatch: filters is a newline-separated list; every valid filter is
// added with its index as value. The tree and Match must agree on name, and
// removing everything must leave an empty tree. Nothing may panic.
func FuzzTreeMatch(f *testing.F) {
	f.Add("sport/tennis/player1/#\nsport/+\n+/+\n/+\n#\n$SYS/#", "sport/tennis/player1")
	f.Add("a//b\na/+/b\n+/#", "a//b")
	f.Add("#\n+", "$SYS/x")
	f.Add("a/#\na", "a")
	f.Fuzz(func(t *testing.T, filters, name string) {
		var tr Tree[int]
		list := strings.Split(filters, "\n")
		added := map[int]bool{}
		for i, fl := range list {
			ok := tr.Add(fl, i)
			if ok != (ValidFilter(fl) == nil) {
				t.Fatalf("Add(%q) = %v but ValidFilter = %v", fl, ok, ValidFilter(fl))
			}
			added[i] = ok
		}
		var got []int
		tr.Match(name, func(v int) { got = append(got, v) })
		slices.Sort(got)
		if ValidName(name) == nil {
			var want []int
			for i, fl := range list {
				if added[i] && Match(fl, name) {
					want = append(want, i)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("Tree.Match(%q) = %v, Match says %v (filters %q)", name, got, want, list)
			}
		}
		for i, fl := range list {
			if tr.Remove(fl, i) != added[i] {
				t.Fatalf("Remove(%q, %d) != %v", fl, i, added[i])
			}
		}
		if tr.Len() != 0 || !tr.root.empty() {
			t.Fatalf("tree not empty after removing all: %d", tr.Len())
		}
	})
}

func cmpInt(a, b int) int { return a - b }

type benchSub struct{ n int }

func BenchmarkTreeMatch(b *testing.B) {
	b.Run("1000 values one filter", func(b *testing.B) {
		var tr Tree[*benchSub]
		for range 1000 {
			tr.Add("chat/+/messages", &benchSub{})
		}
		count := 0
		b.ReportAllocs()
		for b.Loop() {
			tr.Match("chat/room42/messages", func(*benchSub) { count++ })
		}
		if count != 1000*b.N {
			b.Fatal(count)
		}
	})
	b.Run("10000 distinct filters", func(b *testing.B) {
		var tr Tree[*benchSub]
		names := make([]string, 10000)
		for i := range names {
			names[i] = fmt.Sprintf("sensors/site%d/device%d/temp", i%100, i)
			tr.Add(names[i], &benchSub{})
		}
		tr.Add("sensors/+/+/alarm", &benchSub{})
		tr.Add("sensors/site7/#", &benchSub{})
		count, i := 0, 0
		b.ReportAllocs()
		for b.Loop() {
			tr.Match(names[i%len(names)], func(*benchSub) { count++ })
			i++
		}
		if count < b.N {
			b.Fatal(count)
		}
	})
}
