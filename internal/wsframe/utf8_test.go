package wsframe

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// extendable reports, by brute force, whether some continuation bytes make
// p valid: the reference for how early utf8Stream must fail.
func extendable(p []byte) bool {
	if utf8.Valid(p) {
		return true
	}
	// 0x80, 0x90 and 0xA0 together satisfy every second-byte range.
	var try func(b []byte, depth int) bool
	try = func(b []byte, depth int) bool {
		if depth == 0 {
			return false
		}
		for _, c := range []byte{0x80, 0x90, 0xA0} {
			nb := append(b[:len(b):len(b)], c)
			if utf8.Valid(nb) || try(nb, depth-1) {
				return true
			}
		}
		return false
	}
	return try(p, utf8.UTFMax-1)
}

// alphabet mixes ASCII with every interesting lead and continuation byte.
var utf8Alphabet = []byte{'a', 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF}

func TestUTF8StreamMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		n := rng.IntN(12)
		p := make([]byte, n)
		for i := range p {
			p[i] = utf8Alphabet[rng.IntN(len(utf8Alphabet))]
		}
		// Feed in random pieces; after each piece the verdict must match the
		// reference exactly, i.e. fail at the earliest possible byte.
		var s utf8Stream
		for i := 0; i < n; {
			j := i + rng.IntN(n-i+1)
			ok := s.write(p[i:j])
			if want := extendable(p[:j]); ok != want {
				t.Fatalf("%x split at %d..%d: write = %v, want %v", p, i, j, ok, want)
			}
			if !ok {
				break
			}
			i = j
			if j == n {
				if got, want := s.complete(), utf8.Valid(p); got != want {
					t.Fatalf("%x: complete = %v, valid = %v", p, got, want)
				}
			}
		}
	}
}

func TestUTF8StreamValidText(t *testing.T) {
	text := []byte("ascii é € 𝄞 \U0010FFFF \uFFFD end")
	for split := range len(text) + 1 {
		var s utf8Stream
		if !s.write(text[:split]) || !s.write(text[split:]) || !s.complete() {
			t.Fatalf("valid text rejected when split at %d", split)
		}
	}
	var s utf8Stream
	for i := range text { // one byte at a time
		if !s.write(text[i : i+1]) {
			t.Fatalf("rejected at byte %d", i)
		}
	}
	if !s.complete() {
		t.Fatal("incomplete at end")
	}
}
