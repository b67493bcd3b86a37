package position

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/heraldhq/herald/internal/message"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		pos  map[string]message.Position
	}{
		{"empty", map[string]message.Position{}},
		{"one", map[string]message.Position{"wsone/notify": {Epoch: "k2vQ3aZ1b9xY", Seq: 41}}},
		{"shared prefixes", map[string]message.Position{
			"orders/41": {Epoch: "e1", Seq: 1}, "orders/42": {Epoch: "e2", Seq: 300},
			"orders": {Epoch: "e3"}, "a": {Seq: 1 << 62},
		}},
		{"unicode", map[string]message.Position{"café/ü": {Epoch: "é", Seq: 7}, "cafe": {Epoch: "x", Seq: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Encode(tt.pos)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(tok, "+/=") {
				t.Errorf("token %q is not URL-safe", tok)
			}
			got, err := Decode(tok)
			if err != nil {
				t.Fatalf("Decode(%q): %v", tok, err)
			}
			if !maps.Equal(got, tt.pos) {
				t.Errorf("round trip: got %v, want %v", got, tt.pos)
			}
		})
	}
}

// TestKnownToken pins the format: herald.js encodes the same bytes.
func TestKnownToken(t *testing.T) {
	tok, err := Encode(map[string]message.Position{"a/b": {Epoch: "E", Seq: 3}, "a/c": {Epoch: "E", Seq: 300}})
	if err != nil {
		t.Fatal(err)
	}
	// 01 02 | 00 03 "a/b" 01 "E" 03 | 02 01 "c" 01 "E" ac02
	const want = "AQIAA2EvYgFFAwIBYwFFrAI"
	if tok != want {
		t.Errorf("token %q, want %q", tok, want)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := Encode(map[string]message.Position{"a/b": {Epoch: "E", Seq: 3}, "a/c": {Epoch: "E", Seq: 4}})
	raw := func(b ...byte) string { return enc.EncodeToString(b) }
	tests := map[string]string{
		"empty":           "",
		"not base64":      "***",
		"padding":         good + "=",
		"wrong version":   raw(2, 0),
		"no count":        raw(1),
		"trailing":        raw(1, 0, 0),
		"truncated":       good[:len(good)-3],
		"bad topic":       raw(1, 1, 0, 3, 'a', '/', '+', 1, 'E', 1),
		"empty topic":     raw(1, 1, 0, 0, 1, 'E', 1),
		"unsorted":        raw(1, 2, 0, 1, 'b', 0, 1, 0, 1, 'a', 0, 1),
		"repeated":        raw(1, 2, 0, 1, 'a', 0, 1, 1, 0, 0, 1),
		"short shared":    raw(1, 2, 0, 2, 'a', 'b', 0, 1, 0, 2, 'a', 'c', 0, 1),
		"shared too long": raw(1, 2, 0, 1, 'a', 0, 1, 5, 1, 'b', 0, 1),
		"overlong varint": raw(1, 1, 0, 1, 'a', 0, 0x81, 0x00),
		"string overrun":  raw(1, 1, 0, 9, 'a'),
		"bad utf-8 epoch": raw(1, 1, 0, 1, 'a', 1, 0xff, 1),
		"too many":        raw(1, MaxEntries+1),
		"too long":        strings.Repeat("A", MaxLen+1),
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			if p, err := Decode(s); !errors.Is(err, ErrMalformed) {
				t.Errorf("Decode(%q) = %v, %v; want ErrMalformed", s, p, err)
			}
		})
	}
}

func TestEncodeLimits(t *testing.T) {
	many := map[string]message.Position{}
	for i := range MaxEntries + 1 {
		many[strings.Repeat("x", i+1)] = message.Position{Epoch: "e", Seq: 1}
	}
	if _, err := Encode(many); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%d entries: %v, want ErrTooLarge", len(many), err)
	}
	long := map[string]message.Position{}
	for i := range 8 {
		long[strings.Repeat(string(rune('a'+i)), 1000)] = message.Position{Seq: 1}
	}
	if _, err := Encode(long); !errors.Is(err, ErrTooLarge) {
		t.Errorf("8 KB of names: %v, want ErrTooLarge", err)
	}
	if _, err := Encode(map[string]message.Position{"a/#": {}}); !errors.Is(err, ErrMalformed) {
		t.Errorf("wildcard name: %v, want ErrMalformed", err)
	}
}

// FuzzToken checks that Decode never panics, that whatever it accepts is
// canonical (encodes back to the same string), and that arbitrary
// positions survive Encode and Decode.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"AQA", "AQIAA2EvYgFFAwIBYwFFrAI", "", "AQEAAWEAAA", "Ag"} {
		f.Add(s, "t/1", "ep", uint64(3))
	}
	f.Fuzz(func(t *testing.T, s, name, epoch string, seq uint64) {
		if p, err := Decode(s); err == nil {
			again, err := Encode(p)
			if err != nil || again != s {
				t.Fatalf("Decode(%q) accepted %v, which encodes to %q (%v)", s, p, again, err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("Decode(%q) error %v does not wrap ErrMalformed", s, err)
		}
		in := map[string]message.Position{name: {Epoch: epoch, Seq: seq}, name + "/x": {Epoch: epoch, Seq: seq / 2}}
		tok, err := Encode(in)
		if err != nil {
			return // invalid name or epoch: refused, fine
		}
		out, err := Decode(tok)
		if err != nil || !maps.Equal(in, out) {
			t.Fatalf("Encode(%v) = %q decodes to %v, %v", in, tok, out, err)
		}
	})
}
