package store

import (
	"slices"
	"sync"
	"testing"

	"github.com/heraldhq/herald/internal/message"
)

func retainedTopics(r Retained, filter string) []string {
	var got []string
	r.Match(filter, func(m *message.Message) { got = append(got, m.Topic+"="+string(m.Data)) })
	slices.Sort(got)
	return got
}

func TestMemoryRetained(t *testing.T) {
	r := NewMemoryRetained(0, 0)
	for _, m := range []*message.Message{
		{Topic: "a/b", Data: []byte("1")},
		{Topic: "a/c", Data: []byte("2")},
		{Topic: "$SYS/x", Data: []byte("3")},
		{Topic: "a/b", Data: []byte("4")}, // replaces
	} {
		if !r.Set(m) {
			t.Fatalf("Set(%s) refused", m.Topic)
		}
	}
	tests := []struct {
		filter string
		want   []string
	}{
		{"a/b", []string{"a/b=4"}},
		{"a/+", []string{"a/b=4", "a/c=2"}},
		{"#", []string{"a/b=4", "a/c=2"}}, // "$" topics are not matched by a first-level wildcard
		{"$SYS/#", []string{"$SYS/x=3"}},
		{"b", nil},
	}
	for _, tt := range tests {
		if got := retainedTopics(r, tt.filter); !slices.Equal(got, tt.want) {
			t.Errorf("Match(%q) = %v, want %v", tt.filter, got, tt.want)
		}
	}
	if n, b := r.Len(); n != 3 || b != 3 {
		t.Errorf("Len = %d messages %d bytes, want 3 and 3", n, b)
	}
	// An empty payload clears.
	r.Set(&message.Message{Topic: "a/b"})
	if got := retainedTopics(r, "a/b"); got != nil {
		t.Errorf("after clearing: %v", got)
	}
	// Remove deletes only the message it names.
	var cur *message.Message
	r.Match("a/c", func(m *message.Message) { cur = m })
	r.Remove("a/c", &message.Message{Topic: "a/c", Data: []byte("2")})
	if got := retainedTopics(r, "a/c"); len(got) != 1 {
		t.Errorf("Remove of another message deleted it: %v", got)
	}
	r.Remove("a/c", cur)
	if n, b := r.Len(); n != 1 || b != 1 {
		t.Errorf("Len = %d/%d after removals, want 1/1", n, b)
	}
}

func TestMemoryRetainedLimits(t *testing.T) {
	r := NewMemoryRetained(2, 10)
	if !r.Set(&message.Message{Topic: "a", Data: []byte("12345")}) || !r.Set(&message.Message{Topic: "b", Data: []byte("1234")}) {
		t.Fatal("within limits refused")
	}
	if r.Set(&message.Message{Topic: "c", Data: []byte("1")}) {
		t.Error("third topic accepted past the message limit")
	}
	if r.Set(&message.Message{Topic: "a", Data: []byte("1234567")}) {
		t.Error("replacement accepted past the byte limit")
	}
	if !r.Set(&message.Message{Topic: "a", Data: []byte("123456")}) {
		t.Error("replacement within the byte limit refused")
	}
	if !r.Set(&message.Message{Topic: "b"}) || !r.Set(&message.Message{Topic: "c", Data: []byte("1")}) {
		t.Error("after a deletion a new topic should fit")
	}
}

func TestMemoryRetainedConcurrent(t *testing.T) {
	r := NewMemoryRetained(0, 0)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				name := string(rune('a'+g)) + "/" + string(rune('a'+i%5))
				r.Set(&message.Message{Topic: name, Data: []byte{byte(i)}})
				r.Match("+/#", func(*message.Message) {})
				if i%7 == 0 {
					r.Set(&message.Message{Topic: name})
				}
			}
		}()
	}
	wg.Wait()
	n, b := r.Len()
	if n != b {
		t.Fatalf("%d messages of one byte each but %d bytes counted", n, b)
	}
}
