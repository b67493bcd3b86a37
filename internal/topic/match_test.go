package topic

import "testing"

// matchCases come from MQTT 3.1.1 §4.7 (the non-normative examples) plus
// edge cases around empty levels and '$' names.
var matchCases = []struct {
	filter, name string
	match        bool
}{
	// §4.7.1.2 multi-level wildcard.
	{"sport/tennis/player1/#", "sport/tennis/player1", true},
	{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
	{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
	{"sport/tennis/player1/#", "sport/tennis/player2", false},
	{"sport/tennis/player1/#", "sport/tennis", false},
	{"sport/#", "sport", true},
	{"sport/#", "sports", false},
	{"sport/#", "sport/", true},
	{"#", "sport", true},
	{"#", "sport/tennis/player1", true},
	{"#", "/", true},
	{"#", "/finance", true},
	// §4.7.1.3 single-level wildcard.
	{"sport/tennis/+", "sport/tennis/player1", true},
	{"sport/tennis/+", "sport/tennis/player2", true},
	{"sport/tennis/+", "sport/tennis/player1/ranking", false},
	{"sport/+", "sport", false},
	{"sport/+", "sport/", true},
	{"sport/+/player1", "sport/tennis/player1", true},
	{"+", "sport", true},
	{"+", "/finance", false},
	{"+/+", "/finance", true},
	{"/+", "/finance", true},
	{"/+", "finance", false},
	{"+/tennis/#", "sport/tennis/player1", true},
	{"+/tennis/#", "sport/tennis", true},
	{"+/tennis/#", "sport/golf", false},
	{"+/+", "a", false},
	{"+/+", "a/b/c", false},
	{"+/#", "a", true},
	{"+/#", "a/b/c", true},
	// §4.7.2 topics beginning with '$'.
	{"#", "$SYS/monitor/Clients", false},
	{"#", "$SYS", false},
	{"+/monitor/Clients", "$SYS/monitor/Clients", false},
	{"+", "$SYS", false},
	{"$SYS/#", "$SYS/monitor/Clients", true},
	{"$SYS/#", "$SYS", true},
	{"$SYS/monitor/+", "$SYS/monitor/Clients", true},
	{"$SYS/+/Clients", "$SYS/monitor/Clients", true},
	{"a/+", "a/$b", true}, // '$' only matters in the first level
	{"a/#", "a/$b", true},
	// Exact and empty levels.
	{"a", "a", true},
	{"a", "A", false},
	{"a", "a/", false},
	{"a/", "a", false},
	{"a//b", "a//b", true},
	{"a//b", "a/b", false},
	{"a/+/b", "a//b", true},
	{"a/+/b", "a/b", false},
	{"a//#", "a/", true},
	{"a//#", "a//", true},
	{"a//#", "a//x/y", true},
	{"/", "/", true},
	{"+/+", "/", true},
	{"/#", "/", true},
	{"/#", "a", false},
	{"+", "", true}, // "" is not a valid name, but one empty level by the rules
}

func TestMatch(t *testing.T) {
	for _, tt := range matchCases {
		if got := Match(tt.filter, tt.name); got != tt.match {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.filter, tt.name, got, tt.match)
		}
	}
}

func TestMatchInvalidInputDoesNotPanic(t *testing.T) {
	for _, f := range []string{"", "a/#/b", "##", "a+", "#/"} {
		for _, n := range []string{"", "a", "a/b", "$x", "/"} {
			_ = Match(f, n)
		}
	}
}

func TestMatchAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { Match("sport/+/player1/#", "sport/tennis/player1/score/wimbledon") }); n != 0 {
		t.Fatalf("Match allocates %v times", n)
	}
}

func BenchmarkMatch(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Match("sport/+/player1/#", "sport/tennis/player1/score/wimbledon")
	}
}
