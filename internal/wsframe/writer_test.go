package wsframe

import (
	"bytes"
	"testing"
)

func TestHeaderLen(t *testing.T) {
	for n, want := range map[int]int{0: 2, 125: 2, 126: 4, 65535: 4, 65536: 10, 1 << 40: 10} {
		if got := HeaderLen(n); got != want {
			t.Errorf("HeaderLen(%d) = %d, want %d", n, got, want)
		}
		if got := len(AppendHeader(nil, OpBinary, true, false, n)); got != want {
			t.Errorf("len(AppendHeader(%d)) = %d, want %d", n, got, want)
		}
	}
}

func TestAppendHeaderBytes(t *testing.T) {
	for _, c := range []struct {
		op        byte
		fin, rsv1 bool
		n         int
		want      []byte
	}{
		{OpText, true, false, 5, []byte{0x81, 0x05}},
		{OpText, false, false, 3, []byte{0x01, 0x03}},
		{OpContinuation, true, false, 2, []byte{0x80, 0x02}},
		{OpBinary, true, true, 125, []byte{0xC2, 0x7D}},
		{OpBinary, true, false, 126, []byte{0x82, 0x7E, 0x00, 0x7E}},
		{OpBinary, true, false, 256, []byte{0x82, 0x7E, 0x01, 0x00}}, // RFC 6455 5.7
		{OpBinary, true, false, 65535, []byte{0x82, 0x7E, 0xFF, 0xFF}},
		{OpBinary, true, false, 65536, []byte{0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}}, // RFC 6455 5.7
		{OpPing, true, false, 0, []byte{0x89, 0x00}},
	} {
		got := AppendHeader([]byte("x"), c.op, c.fin, c.rsv1, c.n)
		if !bytes.Equal(got[1:], c.want) || got[0] != 'x' {
			t.Errorf("AppendHeader(%#x, %v, %v, %d) = % x, want % x", c.op, c.fin, c.rsv1, c.n, got[1:], c.want)
		}
	}
}

func TestAppendHeaderNegativePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for negative length")
		}
	}()
	AppendHeader(nil, OpText, true, false, -1)
}

func TestAppendFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 70000} {
		payload := bytes.Repeat([]byte{'z'}, n)
		wire := AppendFrame(nil, OpBinary, payload)
		if len(wire) != HeaderLen(n)+n {
			t.Fatalf("len = %d, want %d", len(wire), HeaderLen(n)+n)
		}
		r := &ClientReader{MaxMessage: 1 << 20}
		var got []byte
		if err := r.Feed(wire, func(op byte, p []byte) error { got = bytes.Clone(p); return nil }); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("n=%d: round trip mismatch", n)
		}
	}
}

func TestAppendMaskedFrame(t *testing.T) {
	// RFC 6455 section 5.7: masked "Hello".
	got := AppendMaskedFrame(nil, OpText, true, [4]byte{0x37, 0xfa, 0x21, 0x3d}, []byte("Hello"))
	want := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	if !bytes.Equal(got, want) {
		t.Fatalf("got % x, want % x", got, want)
	}
	// Longer payloads use extended lengths with the mask bit.
	got = AppendMaskedFrame(nil, OpBinary, false, testKey, make([]byte, 300))
	if got[0] != 0x02 || got[1] != 0x80|126 || len(got) != 8+300 {
		t.Fatalf("bad masked header % x", got[:8])
	}
}

func TestAppendFrameZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	payload := []byte("hello")
	dst := make([]byte, 0, 64)
	if a := testing.AllocsPerRun(100, func() { dst = AppendFrame(dst[:0], OpText, payload) }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	payload := []byte(`{"type":"msg","room":"lobby","body":"hello"}`)
	dst := make([]byte, 0, 128)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendFrame(dst[:0], OpText, payload)
	}
}
