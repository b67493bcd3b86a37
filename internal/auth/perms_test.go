package auth

import (
	"testing"

	"github.com/heraldhq/herald/internal/topic"
)

func TestCovers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern, filter string
		want            bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a/+", true},
		{"a/+", "a/#", false}, // a/# matches a and a/b/c
		{"a/+", "a", false},
		{"a/+", "a/b/c", false},
		{"a/#", "a/#", true},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/#", "a/+/c", true},
		{"a/#", "#", false},
		{"a/#", "+/b", false},
		{"a/b", "a/+", false},
		{"a/b", "+/b", false},
		{"+/b", "a/b", true},
		{"+/b", "+/b", true},
		{"+/b", "#", false},
		{"#", "#", true},
		{"#", "a/b", true},
		{"#", "+/+", true},
		{"#", "$SYS/x", false}, // # does not match $ topics
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"a/+/#", "a/#", false}, // a/# matches a, a/+/# does not
		{"a/+/#", "a/b/#", true},
		{"a/+/#", "a/b", true},
		{"a//b", "a//b", true},
		{"a/+/b", "a//b", true},
		{"/queue/#", "/queue/jobs", true},
		{"/queue/jobs", "/queue/other", false},
		{"a", "a/b", false},
		{"", "", true},
	}
	for _, c := range cases {
		if got := Covers(c.pattern, c.filter); got != c.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", c.pattern, c.filter, got, c.want)
		}
	}
}

// TestCoversAgreesWithMatch checks Covers against its definition on a
// small universe of names: a pattern covers a filter only if it matches
// every name the filter matches.
func TestCoversAgreesWithMatch(t *testing.T) {
	t.Parallel()
	levels := []string{"a", "b", "$s", ""}
	names := levels
	for _, a := range levels {
		for _, b := range levels {
			names = append(names, a+"/"+b)
			for _, c := range levels {
				names = append(names, a+"/"+b+"/"+c)
			}
		}
	}
	filters := []string{"#", "+", "a", "a/#", "a/+", "+/a", "+/+", "+/#", "a/b", "a/+/#", "$s/#", "$s/+", "a/b/#", "+/+/+", "a/+/b"}
	for _, p := range filters {
		for _, f := range filters {
			if topic.ValidFilter(f) != nil {
				continue
			}
			covered := true
			for _, n := range names {
				if topic.ValidName(n) == nil && topic.Match(f, n) && !topic.Match(p, n) {
					covered = false
					break
				}
			}
			if got := Covers(p, f); got && !covered {
				t.Errorf("Covers(%q, %q) = true, but %q matches a name %q does not", p, f, f, p)
			}
		}
	}
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	p := &Permissions{
		Publish:   []string{"chat/+", "user/alice/#"},
		Subscribe: []string{"chat/#", "news"},
		Call:      []string{"orders.*", "ping"},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		got  bool
		want bool
	}{
		{"publish chat/room", p.CanPublish("chat/room"), true},
		{"publish chat/room/x", p.CanPublish("chat/room/x"), false},
		{"publish user/alice", p.CanPublish("user/alice"), true},
		{"publish user/bob", p.CanPublish("user/bob"), false},
		{"subscribe chat/#", p.CanSubscribe("chat/#"), true},
		{"subscribe news", p.CanSubscribe("news"), true},
		{"subscribe news/#", p.CanSubscribe("news/#"), false},
		{"subscribe #", p.CanSubscribe("#"), false},
		{"call orders.get", p.CanCall("orders.get"), true},
		{"call ping", p.CanCall("ping"), true},
		{"call admin.drop", p.CanCall("admin.drop"), false},
		{"call pingx", p.CanCall("pingx"), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	all := &Permissions{Call: []string{"#"}}
	if !all.CanCall("anything/at.all") {
		t.Error(`"#" should allow every method`)
	}
	var none Permissions
	if none.CanPublish("a") || none.CanSubscribe("a") || none.CanCall("a") {
		t.Error("the zero Permissions should allow nothing")
	}
	if err := (&Permissions{Subscribe: []string{"a/#/b"}}).Validate(); err == nil {
		t.Error("invalid filter accepted")
	}
	if err := (&Permissions{Call: []string{"[x"}}).Validate(); err == nil {
		t.Error("invalid glob accepted")
	}
	m := Merge(&Permissions{Publish: []string{"a"}}, &Permissions{Publish: []string{"b"}})
	if !m.CanPublish("a") || !m.CanPublish("b") {
		t.Errorf("Merge lost a grant: %+v", m)
	}
}

func FuzzCovers(f *testing.F) {
	f.Add("a/+/#", "a/b/c")
	f.Add("#", "$SYS/#")
	f.Fuzz(func(t *testing.T, pattern, filter string) {
		if topic.ValidFilter(pattern) != nil || topic.ValidFilter(filter) != nil {
			Covers(pattern, filter) // must not panic
			return
		}
		if !Covers(pattern, filter) {
			return
		}
		// A covered filter's own literal instance must match the pattern.
		name := filter
		if topic.IsWildcard(filter) {
			return
		}
		if !topic.Match(pattern, name) {
			t.Fatalf("Covers(%q, %q) but Match is false", pattern, filter)
		}
	})
}
