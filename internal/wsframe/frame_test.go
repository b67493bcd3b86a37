package wsframe

import (
	"bytes"
	"testing"
)

func TestMaskBytesMatchesNaive(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	data := []byte("the quick brown fox jumps over the lazy dog 0123456789")
	for pos := range 4 {
		for n := range len(data) + 1 {
			want := bytes.Clone(data[:n])
			for i := range want {
				want[i] ^= key[(pos+i)&3]
			}
			got := bytes.Clone(data[:n])
			next := maskBytes(key, pos, got)
			if !bytes.Equal(got, want) || next != (pos+n)&3 {
				t.Fatalf("pos %d len %d: got %x next %d, want %x next %d", pos, n, got, next, want, (pos+n)&3)
			}
		}
	}
}

func TestMaskBytesPiecewise(t *testing.T) {
	// Masking in pieces must equal masking at once: frames arrive in chunks.
	key := [4]byte{0xde, 0xad, 0xbe, 0xef}
	data := bytes.Repeat([]byte("abcdefghijk"), 10)
	whole := bytes.Clone(data)
	maskBytes(key, 0, whole)
	for split := range len(data) {
		got := bytes.Clone(data)
		pos := maskBytes(key, 0, got[:split])
		maskBytes(key, pos, got[split:])
		if !bytes.Equal(got, whole) {
			t.Fatalf("split at %d differs", split)
		}
	}
}

func TestHeaderSize(t *testing.T) {
	for _, c := range []struct {
		b1   byte
		want int
	}{{0x00, 2}, {125, 2}, {126, 4}, {127, 10}, {0x80, 6}, {0x80 | 126, 8}, {0x80 | 127, 14}} {
		if got := headerSize(0x81, c.b1); got != c.want {
			t.Errorf("headerSize(_, %#x) = %d, want %d", c.b1, got, c.want)
		}
	}
}
