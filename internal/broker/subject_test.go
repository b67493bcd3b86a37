package broker

import (
	"errors"
	"strings"
	"testing"

	"github.com/heraldhq/herald/internal/topic"
)

func TestSubjectEscapes(t *testing.T) {
	cases := []struct{ topic, subject string }{
		{"a", "p.t.a"},
		{"a/b/c", "p.t.a.b.c"},
		{"a.b/c d", "p.t.a%2Eb.c%20d"},
		{"*/>", "p.t.%2A.%3E"},
		{"a//b", "p.t.a.%.b"},
		{"/", "p.t.%.%"},
		{"/a/", "p.t.%.a.%"},
		{"$SYS/x", "p.t.%24SYS.x"},
		{"100%", "p.t.100%25"},
		{"é", "p.t.%C3%A9"},
		{"tab\there", "p.t.tab%09here"},
		{"Under_score-dash", "p.t.Under_score-dash"},
	}
	for _, c := range cases {
		if got := Subject("p", c.topic); got != c.subject {
			t.Errorf("Subject(%q) = %q, want %q", c.topic, got, c.subject)
		}
		back, err := Topic("p", c.subject)
		if err != nil || back != c.topic {
			t.Errorf("Topic(%q) = %q, %v; want %q", c.subject, back, err, c.topic)
		}
	}
}

func TestSubjectLongTopicIsHashed(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes, 2400 escaped
	s := Subject("p", long)
	if !strings.HasPrefix(s, "p.h.") || len(s) != len("p.h.")+64 {
		t.Fatalf("Subject(long) = %q", s)
	}
	if s2 := Subject("p", long+"x"); s2 == s {
		t.Fatal("two long topics share a subject")
	}
	if _, err := Topic("p", s); !errors.Is(err, ErrSubject) {
		t.Fatalf("Topic(hashed) err = %v, want ErrSubject", err)
	}
}

func TestTopicRejectsForeignSubjects(t *testing.T) {
	for _, s := range []string{"q.t.a", "p.t.", "p.t.a..b", "p.t.%2", "p.t.%2e", "p.t.%41", "p.t.a%zz", "p.t.a b", "p.t.*"} {
		if got, err := Topic("p", s); err == nil {
			t.Errorf("Topic(%q) = %q, want an error", s, got)
		}
	}
}

// validSubject reports whether s is a literal NATS subject: non-empty
// tokens of printable ASCII with no wildcard tokens and no whitespace.
func validSubject(s string) bool {
	for _, tok := range strings.Split(s, ".") {
		if tok == "" || tok == "*" || tok == ">" {
			return false
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c <= ' ' || c >= 0x7f || c == '*' || c == '>' {
				return false
			}
		}
	}
	return true
}

func FuzzSubject(f *testing.F) {
	for _, s := range []string{"a", "a/b", "a.b", "*", ">", "$SYS/#x", "//", " ", "é/ü", "%", "%25"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if topic.ValidName(name) != nil {
			return
		}
		s := Subject("herald", name)
		if !validSubject(s) || len(s) > maxSubject+100 {
			t.Fatalf("Subject(%q) = %q: not a bounded literal subject", name, s)
		}
		if strings.HasPrefix(s, "herald.h.") {
			return
		}
		back, err := Topic("herald", s)
		if err != nil || back != name {
			t.Fatalf("round trip %q -> %q -> %q, %v", name, s, back, err)
		}
		// And the other way: a subject Topic accepts maps back to itself.
		if again := Subject("herald", back); again != s {
			t.Fatalf("not canonical: %q -> %q -> %q", s, back, again)
		}
	})
}
