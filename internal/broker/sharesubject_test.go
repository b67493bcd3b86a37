package broker

import (
	"slices"
	"strings"
	"testing"

	"github.com/heraldhq/herald/internal/topic"
)

func TestShareSubjects(t *testing.T) {
	long := strings.Repeat("x", 1100)
	tests := []struct {
		filter string
		want   []string
	}{
		{"sensors/temp", []string{"h.s.t.sensors.temp"}},
		{"a.b/c d", []string{"h.s.t.a%2Eb.c%20d"}},
		{"$SYS/x", []string{"h.s.t.%24SYS.x"}},
		{"a//b", []string{"h.s.t.a.%.b"}},
		{"sensors/+/temp", []string{"h.s.t.sensors.*.temp", "h.s.h.*"}},
		{"+", []string{"h.s.t.*", "h.s.h.*"}},
		{"sensors/#", []string{"h.s.t.sensors", "h.s.t.sensors.>", "h.s.h.*"}},
		{"#", []string{"h.s.t.>", "h.s.h.*"}},
		{"+/#", []string{"h.s.t.*", "h.s.t.*.>", "h.s.h.*"}},
		{"a.*/>/#", []string{"h.s.t.a%2E%2A.%3E", "h.s.t.a%2E%2A.%3E.>", "h.s.h.*"}},
		{"$share-like/+", []string{"h.s.t.%24share-like.*", "h.s.h.*"}},
		{"/#", []string{"h.s.t.%", "h.s.t.%.>", "h.s.h.*"}},
		// Too long for a subject: only hashed topics can match.
		{long + "/+", []string{"h.s.h.*"}},
		{long, []string{"h.s.h." + strings.TrimPrefix(Subject("h", long), "h.h.")}},
	}
	for _, tt := range tests {
		if got := shareSubjects("h", tt.filter); !slices.Equal(got, tt.want) {
			t.Errorf("shareSubjects(%.40q) = %.200q, want %.200q", tt.filter, got, tt.want)
		}
	}
}

func TestShareConsumerName(t *testing.T) {
	a, b := shareConsumer("$share/g/a/#"), shareConsumer("$share/g/a/+")
	if a == b || a != shareConsumer("$share/g/a/#") {
		t.Fatalf("names %q %q: want distinct and stable", a, b)
	}
	if strings.ContainsAny(a, ".*> /\\") || len(a) > 64 {
		t.Fatalf("name %q is not a valid consumer name", a)
	}
}

// subjectMatch is NATS subject matching: "*" one token, ">" one or more.
func subjectMatch(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, tok := range f {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || tok != "*" && tok != s[i] {
			return false
		}
	}
	return len(f) == len(s)
}

// streamSubject is the subject a topic is stored under (storeWaiting).
func streamSubject(prefix, name string) string {
	return prefix + ".s." + strings.TrimPrefix(Subject(prefix, name), prefix+".")
}

// FuzzShareSubjects checks that the subjects of a filter hold every
// topic the filter matches, and that they never overlap (JetStream
// refuses overlapping filter subjects).
func FuzzShareSubjects(f *testing.F) {
	for _, s := range [][2]string{
		{"a/#", "a"}, {"a/#", "a/b/c"}, {"+/+", "/"}, {"#", "$SYS/x"}, {"a/+/c", "a//c"},
		{"x.y/+", "x.y/é"}, {"+/#", strings.Repeat("long/", 300)}, {"a b/#", "a b"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, filter, name string) {
		if topic.ValidFilter(filter) != nil || topic.ValidName(name) != nil {
			return
		}
		subj := shareSubjects("h", filter)
		for i := range subj {
			for j := range subj {
				if i != j && (subjectMatch(subj[i], subj[j]) || subjectMatch(subj[j], subj[i])) {
					t.Fatalf("filter %q: subjects %q and %q overlap", filter, subj[i], subj[j])
				}
			}
		}
		if !topic.Match(filter, name) {
			return
		}
		s := streamSubject("h", name)
		if !slices.ContainsFunc(subj, func(f string) bool { return subjectMatch(f, s) }) {
			t.Fatalf("filter %q matches topic %q, but its subjects %q miss %q", filter, name, subj, s)
		}
	})
}
