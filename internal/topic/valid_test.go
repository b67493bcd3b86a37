package topic

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidNameAndFilter(t *testing.T) {
	long := strings.Repeat("a", MaxLen)
	tests := []struct {
		s        string
		name     bool // valid as a topic name
		filter   bool // valid as a filter
		wildcard bool // IsWildcard (only meaningful for valid filters)
	}{
		{"a", true, true, false},
		{"sport/tennis/player1", true, true, false},
		{"/", true, true, false},
		{"a//b", true, true, false},
		{"/finance", true, true, false},
		{"finance/", true, true, false},
		{"$SYS/broker", true, true, false},
		{"ünïcödé/主题", true, true, false},
		{"with space/and-dash.dot", true, true, false},
		{long, true, true, false},
		{long + "a", false, false, false},
		{"", false, false, false},
		{"a\x00b", false, false, false},
		{"\xff", false, false, false},
		{"a/\xc3", false, false, false},
		{"+", false, true, true},
		{"#", false, true, true},
		{"+/+", false, true, true},
		{"/+", false, true, true},
		{"+/", false, true, true},
		{"sport/#", false, true, true},
		{"sport/tennis/#", false, true, true},
		{"+/tennis/#", false, true, true},
		{"sport/+/player1", false, true, true},
		{"$SYS/#", false, true, true},
		{"a//+//#", false, true, true},
		{"sport/tennis#", false, false, false},
		{"sport/tennis/#/ranking", false, false, false},
		{"#/", false, false, false},
		{"##", false, false, false},
		{"sport+", false, false, false},
		{"+sport", false, false, false},
		{"a/++/b", false, false, false},
		{"a/#+", false, false, false},
		{"+\x00", false, false, false},
	}
	for _, tt := range tests {
		label := clip(tt.s)
		t.Run(label, func(t *testing.T) {
			err := ValidName(tt.s)
			if (err == nil) != tt.name {
				t.Errorf("ValidName(%q) = %v, want valid=%v", label, err, tt.name)
			}
			if err != nil && !errors.Is(err, ErrInvalidName) {
				t.Errorf("ValidName error %v does not wrap ErrInvalidName", err)
			}
			err = ValidFilter(tt.s)
			if (err == nil) != tt.filter {
				t.Errorf("ValidFilter(%q) = %v, want valid=%v", label, err, tt.filter)
			}
			if err != nil && !errors.Is(err, ErrInvalidFilter) {
				t.Errorf("ValidFilter error %v does not wrap ErrInvalidFilter", err)
			}
			if tt.filter && IsWildcard(tt.s) != tt.wildcard {
				t.Errorf("IsWildcard(%q) = %v, want %v", label, !tt.wildcard, tt.wildcard)
			}
		})
	}
}

func TestClip(t *testing.T) {
	tests := []struct{ in, want string }{
		{"short", "short"},
		{strings.Repeat("x", 32), strings.Repeat("x", 32)},
		{strings.Repeat("x", 40), strings.Repeat("x", 32) + "…"},
		{strings.Repeat("é", 20), strings.Repeat("é", 16) + "…"},
		{"x" + strings.Repeat("é", 20), "x" + strings.Repeat("é", 15) + "…"},
	}
	for _, tt := range tests {
		if got := clip(tt.in); got != tt.want || !utf8.ValidString(got) {
			t.Errorf("clip(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzValidFilter checks that validation never panics, that its verdicts
// are consistent with each other, and that anything valid is usable by
// Match and Tree.
func FuzzValidFilter(f *testing.F) {
	for _, s := range []string{"", "a", "#", "+", "a/+/b", "a/#", "a/#/b", "sport+", "$SYS/#", "a//b", "\xff", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		nameErr, filterErr := ValidName(s), ValidFilter(s)
		if nameErr == nil && filterErr != nil {
			t.Fatalf("%q is a valid name but not a valid filter: %v", s, filterErr)
		}
		if filterErr != nil {
			if !errors.Is(filterErr, ErrInvalidFilter) {
				t.Fatalf("error %v does not wrap ErrInvalidFilter", filterErr)
			}
			var tr Tree[int]
			if tr.Add(s, 1) || tr.Len() != 0 {
				t.Fatalf("Tree.Add accepted invalid filter %q", s)
			}
			return
		}
		if validName := nameErr == nil; validName == IsWildcard(s) {
			t.Fatalf("%q: valid name=%v but IsWildcard=%v", s, nameErr == nil, IsWildcard(s))
		}
		// Levels: '+' and '#' only alone, '#' only last.
		levels := strings.Split(s, "/")
		for i, l := range levels {
			if strings.ContainsAny(l, "+#") && l != "+" && !(l == "#" && i == len(levels)-1) {
				t.Fatalf("ValidFilter accepted %q (level %d %q)", s, i, l)
			}
		}
		if nameErr == nil && !Match(s, s) {
			t.Fatalf("name %q does not match itself", s)
		}
		var tr Tree[int]
		if !tr.Add(s, 1) || tr.Len() != 1 || !tr.Remove(s, 1) || tr.Len() != 0 || !tr.root.empty() {
			t.Fatalf("Tree add/remove of %q did not round-trip", s)
		}
	})
}

func BenchmarkValidName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = ValidName("sport/tennis/player1/score/wimbledon")
	}
}
