package wsframe

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

func testPayloads() map[string][]byte {
	rng := rand.New(rand.NewPCG(5, 6))
	random := make([]byte, 100_000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	return map[string][]byte{
		"empty":      {},
		"one byte":   {'x'},
		"text":       []byte("hello hello hello, wörld"),
		"repetitive": []byte(strings.Repeat("abcabcabd", 20_000)),
		"random":     random,
	}
}

func TestCompressInflateRoundTrip(t *testing.T) {
	for name, p := range testPayloads() {
		c := Compress(nil, p)
		if bytes.HasSuffix(c, deflateTail) && len(p) > 0 {
			t.Errorf("%s: sync marker not stripped", name)
		}
		got, err := Inflate(nil, c, len(p))
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("%s: Inflate = %d bytes, %v", name, len(got), err)
		}
	}
}

func TestCompressEmpty(t *testing.T) {
	// RFC 7692 section 7.2.3.6: an empty message compresses to a single 0x00.
	if got := Compress(nil, nil); !bytes.Equal(got, []byte{0x00}) {
		t.Fatalf("Compress(empty) = % x", got)
	}
}

func TestCompressIndependentMessages(t *testing.T) {
	// No context takeover: the same input always gives the same output, so a
	// broadcast can compress once for all subscribers.
	p := []byte(strings.Repeat("broadcast ", 50))
	a := Compress(nil, p)
	Compress(nil, []byte("something else entirely"))
	if b := Compress([]byte("prefix"), p); !bytes.Equal(a, b[len("prefix"):]) {
		t.Fatal("compressed output depends on earlier calls")
	}
}

func TestCompressInteropStdlibReader(t *testing.T) {
	for name, p := range testPayloads() {
		c := append(Compress(nil, p), deflateTail...)
		got, err := io.ReadAll(flate.NewReader(bytes.NewReader(c)))
		if !errors.Is(err, io.ErrUnexpectedEOF) { // the stream has no final block
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, p) {
			t.Fatalf("%s: stdlib inflate mismatch", name)
		}
	}
}

func TestInflateInteropStdlibWriter(t *testing.T) {
	for name, p := range testPayloads() {
		for level := flate.HuffmanOnly; level <= flate.BestCompression; level++ {
			for _, final := range []bool{false, true} {
				var buf bytes.Buffer
				w, _ := flate.NewWriter(&buf, level)
				w.Write(p)
				if final {
					w.Close() // a BFINAL block, which RFC 7692 permits
				} else {
					w.Flush()
				}
				c := bytes.TrimSuffix(buf.Bytes(), deflateTail)
				got, err := Inflate(nil, c, len(p))
				if err != nil || !bytes.Equal(got, p) {
					t.Fatalf("%s level %d final %v: %d bytes, %v", name, level, final, len(got), err)
				}
			}
		}
	}
}

func TestInflateLimit(t *testing.T) {
	p := bytes.Repeat([]byte("a"), 1000)
	c := Compress(nil, p)
	if _, err := Inflate(nil, c, 1000); err != nil {
		t.Fatalf("exact limit: %v", err)
	}
	dst := []byte("keep")
	out, err := Inflate(dst, c, 999)
	if !errors.Is(err, ErrTooBig) || string(out) != "keep" {
		t.Fatalf("over limit: %q, %v", out, err)
	}
	if _, err := Inflate(nil, c, 0); !errors.Is(err, ErrTooBig) {
		t.Fatalf("zero limit: %v", err)
	}
	if got, err := Inflate([]byte("x"), c, math.MaxInt); err != nil || len(got) != 1001 {
		t.Fatalf("huge limit: %d bytes, %v", len(got), err)
	}
}

func TestInflateZipBombMemoryBounded(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation accounting is not meaningful under -race")
	}
	bomb := Compress(nil, make([]byte, 64<<20)) // 64 MiB of zeros, ~64 KiB compressed
	const limit = 64 << 10
	Inflate(nil, bomb, limit) // warm the pool
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Inflate(nil, bomb, limit)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooBig) {
		t.Fatalf("err = %v, want ErrTooBig", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*limit {
		t.Fatalf("inflating a bomb allocated %d bytes, limit %d", alloc, limit)
	}
}

func TestInflateCorrupt(t *testing.T) {
	for _, c := range []string{"\xff\xff\xff", "\x07", "\x02"} {
		if _, err := Inflate(nil, []byte(c), 1000); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Inflate(% x) = %v, want ErrCorrupt", c, err)
		}
	}
}

func TestCompressAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	p := []byte(strings.Repeat("hello world ", 100))
	dst := make([]byte, 0, 4096)
	Compress(dst, p)
	if a := testing.AllocsPerRun(100, func() { dst = Compress(dst[:0], p) }); a != 0 {
		t.Errorf("Compress: %v allocs with a big enough dst", a)
	}
	out := make([]byte, 0, 4096)
	if a := testing.AllocsPerRun(100, func() { out, _ = Inflate(out[:0], dst, 4096) }); a != 0 {
		t.Errorf("Inflate: %v allocs with a big enough dst", a)
	}
}

func TestNegotiateDeflate(t *testing.T) {
	const ok = DeflateResponse
	for _, c := range []struct {
		headers []string
		want    string // "" = declined
	}{
		{nil, ""},
		{[]string{""}, ""},
		{[]string{"permessage-deflate"}, ok},
		{[]string{"Permessage-Deflate"}, ok},
		{[]string{"permessage-deflate; client_max_window_bits"}, ok}, // what browsers send
		{[]string{"permessage-deflate; client_max_window_bits=10"}, ok},
		{[]string{`permessage-deflate; client_max_window_bits="10"`}, ok},
		{[]string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, ok},
		{[]string{"permessage-deflate;server_max_window_bits=15"}, ok + "; server_max_window_bits=15"},
		{[]string{"permessage-deflate; server_max_window_bits=10"}, ""},
		{[]string{"permessage-deflate; server_max_window_bits"}, ""},
		{[]string{"permessage-deflate; client_max_window_bits=7"}, ""},
		{[]string{"permessage-deflate; client_max_window_bits=16"}, ""},
		{[]string{"permessage-deflate; client_max_window_bits=010"}, ""},
		{[]string{"permessage-deflate; client_max_window_bits=x"}, ""},
		{[]string{"permessage-deflate; server_no_context_takeover=1"}, ""},
		{[]string{"permessage-deflate; client_no_context_takeover; client_no_context_takeover"}, ""},
		{[]string{"permessage-deflate; unknown"}, ""},
		{[]string{"permessage-deflate;"}, ""},
		{[]string{"x-webkit-deflate-frame"}, ""},
		// Fall back to the next offer, in the same or a later header value.
		{[]string{"permessage-deflate; server_max_window_bits=8, permessage-deflate"}, ok},
		{[]string{"foo, permessage-deflate; bar", "permessage-deflate; client_max_window_bits"}, ok},
		{[]string{`foo; p="a, permessage-deflate"`}, ""}, // a comma inside quotes is no separator
	} {
		got, accepted := NegotiateDeflate(c.headers)
		if got != c.want || accepted != (c.want != "") {
			t.Errorf("NegotiateDeflate(%q) = %q, %v; want %q", c.headers, got, accepted, c.want)
		}
	}
}

func TestReaderDeflateRoundTrip(t *testing.T) {
	for name, p := range testPayloads() {
		op := OpBinary
		if name == "text" || name == "repetitive" {
			op = OpText
		}
		frame := AppendMaskedFrame(nil, op, true, testKey, Compress(nil, p))
		frame[0] |= bitRSV1
		// MaxMessage also bounds the compressed size, which for incompressible
		// data is slightly larger than the message itself.
		r := &Reader{Deflate: true, MaxMessage: max(len(Compress(nil, p)), len(p))}
		var got []byte
		if err := r.Feed(frame, func(gop byte, m []byte) error {
			if gop != op {
				t.Errorf("op %#x", gop)
			}
			got = bytes.Clone(m)
			return nil
		}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, p) {
			t.Fatalf("%s: mismatch", name)
		}
	}
}

func TestReaderDeflateLimitAppliesToWireSize(t *testing.T) {
	// Documented trade-off: the frame header check runs before inflating, so
	// a compressed message larger on the wire than MaxMessage is rejected
	// even if it would inflate to less.
	p := testPayloads()["random"][:1000]
	c := Compress(nil, p)
	if len(c) <= len(p) {
		t.Skip("random data compressed")
	}
	frame := AppendMaskedFrame(nil, OpBinary, true, testKey, c)
	frame[0] |= bitRSV1
	r := &Reader{Deflate: true, MaxMessage: len(p)}
	var ce *CloseError
	if err := r.Feed(frame, func(byte, []byte) error { return nil }); !errors.As(err, &ce) || ce.Code != CloseMessageTooBig {
		t.Fatalf("err = %v, want 1009", err)
	}
}

// stdReader is reused across fuzz calls, which run sequentially in a worker;
// a fresh flate reader per call would dominate the fuzzing time.
var stdReader = flate.NewReader(bytes.NewReader(nil))

func FuzzDeflateRoundTrip(f *testing.F) {
	for _, p := range testPayloads() {
		f.Add(p[:min(len(p), 2048)])
	}
	for _, fx := range fixtures() {
		if len(fx.wire) <= 4096 {
			f.Add(fx.wire)
		}
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		c := Compress(nil, p)
		got, err := Inflate(nil, c, len(p))
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("round trip: %v", err)
		}
		stdReader.(flate.Resetter).Reset(bytes.NewReader(append(c, deflateTail...)), nil)
		std, err := io.ReadAll(stdReader)
		if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(std, p) {
			t.Fatalf("stdlib disagrees: %v", err)
		}
		if len(p) > 0 {
			if _, err := Inflate(nil, c, len(p)-1); !errors.Is(err, ErrTooBig) {
				t.Fatalf("limit not enforced: %v", err)
			}
		}
		// The input as compressed data: must not panic, must stay bounded.
		const limit = 4096
		out, err := Inflate(nil, p, limit)
		if len(out) > limit || (err != nil && !errors.Is(err, ErrTooBig) && !errors.Is(err, ErrCorrupt)) {
			t.Fatalf("garbage input: %d bytes, %v", len(out), err)
		}
	})
}

func BenchmarkCompress(b *testing.B) {
	p := []byte(`{"type":"msg","room":"lobby","body":"hello hello hello hello"}`)
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		dst = Compress(dst[:0], p)
	}
}
