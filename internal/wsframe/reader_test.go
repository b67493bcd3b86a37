package wsframe

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

type feeder interface {
	Feed(p []byte, fn func(op byte, payload []byte) error) error
	Buffered() int
}

func newFeeder(f fixture) feeder {
	if f.client {
		return &ClientReader{MaxMessage: f.max, Deflate: f.deflate}
	}
	return &Reader{MaxMessage: f.max, Deflate: f.deflate}
}

func parserOf(fd feeder) *parser {
	switch r := fd.(type) {
	case *Reader:
		return &r.p
	case *ClientReader:
		return &r.p
	}
	panic("unknown feeder")
}

// result is what a parse produced, comparable across chunkings.
type result struct {
	msgs []msg
	err  error
}

// feedChunks feeds a copy of wire (Feed unmasks in place) cut at the given
// increasing offsets and checks the invariants that hold for any input.
func feedChunks(t testing.TB, fd feeder, wire []byte, cuts []int) result {
	t.Helper()
	data := bytes.Clone(wire)
	var res result
	collect := func(op byte, payload []byte) error {
		res.msgs = append(res.msgs, msg{op, string(payload)})
		return nil
	}
	prev := 0
	for _, c := range append(cuts, len(data)) {
		if res.err = fd.Feed(data[prev:c], collect); res.err != nil {
			break
		}
		prev = c
	}
	if res.err != nil && fd.Buffered() != 0 {
		t.Fatalf("Buffered() = %d after error", fd.Buffered())
	}
	return res
}

func checkResult(t *testing.T, f fixture, how string, res result) {
	t.Helper()
	if len(res.msgs) != len(f.want) {
		t.Fatalf("%s: got %d messages %s, want %d %s", how, len(res.msgs), brief(res.msgs), len(f.want), brief(f.want))
	}
	for i := range f.want {
		if res.msgs[i] != f.want[i] {
			t.Fatalf("%s: message %d = %s, want %s", how, i, brief(res.msgs[i:i+1]), brief(f.want[i:i+1]))
		}
	}
	if f.code == 0 {
		if res.err != nil {
			t.Fatalf("%s: unexpected error %v", how, res.err)
		}
		return
	}
	var ce *CloseError
	if !errors.As(res.err, &ce) {
		t.Fatalf("%s: error = %v, want CloseError %d", how, res.err, f.code)
	}
	if ce.Code != f.code {
		t.Fatalf("%s: close code = %d (%s), want %d", how, ce.Code, ce.Reason, f.code)
	}
}

func brief(ms []msg) string {
	var b bytes.Buffer
	for _, m := range ms {
		p := m.payload
		if len(p) > 20 {
			p = p[:20] + fmt.Sprintf("...(%d bytes)", len(m.payload))
		}
		fmt.Fprintf(&b, "[op %#x %q]", m.op, p)
	}
	return b.String()
}

func randomCuts(rng *rand.Rand, n int) []int {
	var cuts []int
	for c := 0; n > 0; {
		c += 1 + rng.IntN(min(n, 64)+rng.IntN(4096)) // mostly small, sometimes big
		if c >= n {
			break
		}
		cuts = append(cuts, c)
	}
	return cuts
}

func TestReaderFixtures(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			check := func(how string, cuts []int) {
				fd := newFeeder(f)
				res := feedChunks(t, fd, f.wire, cuts)
				checkResult(t, f, how, res)
				if res.err == nil && fd.Buffered() != 0 {
					t.Fatalf("%s: Buffered() = %d after complete input", how, fd.Buffered())
				}
				if p := parserOf(fd); p.buf != nil {
					t.Fatalf("%s: buffer of %d bytes retained", how, cap(p.buf))
				}
			}
			check("whole", nil)

			ones := make([]int, 0, len(f.wire))
			for i := 1; i < len(f.wire); i++ {
				ones = append(ones, i)
			}
			check("1 byte at a time", ones)

			if len(f.wire) <= 4096 {
				for i := 1; i < len(f.wire); i++ {
					check(fmt.Sprintf("split at %d", i), []int{i})
				}
			}
			for i := range 20 {
				check(fmt.Sprintf("random chunking #%d", i), randomCuts(rng, len(f.wire)))
			}
		})
	}
}

func TestReaderSizes(t *testing.T) {
	// Struct size is the idle cost per connection: no heap buffer is kept.
	t.Logf("sizeof(Reader) = %d bytes", unsafe.Sizeof(Reader{}))
	if s := unsafe.Sizeof(Reader{}); s > 512 {
		t.Errorf("sizeof(Reader) = %d, want <= 512", s)
	}
}

func TestReaderPartialFrameBuffersOnlyWhatArrived(t *testing.T) {
	wire := mf(OpBinary, true, big64K[:60000])
	r := &Reader{}
	fed := 0
	for _, n := range []int{1, 7, 10, 100} { // header is 8 bytes
		if err := r.Feed(wire[fed:fed+n], func(byte, []byte) error { t.Fatal("unexpected message"); return nil }); err != nil {
			t.Fatal(err)
		}
		fed += n
		want := max(fed-8, 0)
		if fed < 8 {
			want = fed // header bytes
		}
		if got := r.Buffered(); got != want {
			t.Fatalf("after %d bytes Buffered() = %d, want %d", fed, got, want)
		}
	}
	// A lying length must not make us allocate for it up front.
	if c := cap(r.p.buf); c > 1024 {
		t.Fatalf("buffer capacity %d after %d payload bytes", c, fed-8)
	}
}

func TestReaderFinalFrameBufferExact(t *testing.T) {
	// Once the final frame's header is in, the message size is known and
	// the buffer never grows past it.
	wire := mf(OpBinary, true, big64K[:1000])
	r := &Reader{}
	capacity := 0
	fn := func(_ byte, p []byte) error { capacity = cap(p); return nil }
	if err := r.Feed(wire[:8+600], fn); err != nil {
		t.Fatal(err)
	}
	if err := r.Feed(wire[8+600:], fn); err != nil {
		t.Fatal(err)
	}
	if capacity != 1000 {
		t.Fatalf("buffer capacity %d, want 1000", capacity)
	}
}

func TestReaderBufferedWorstCase(t *testing.T) {
	// The most a Reader holds: a fragmented message at MaxMessage plus a
	// control frame missing its last byte.
	const max = 1000
	ping := mf(OpPing, true, strings.Repeat("p", MaxControlPayload))
	wire := cat(mf(OpText, false, big64K[:max]), ping[:len(ping)-1])
	r := &Reader{MaxMessage: max}
	if err := r.Feed(wire, func(byte, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got, want := r.Buffered(), max+MaxControlPayload-1; got != want {
		t.Fatalf("Buffered() = %d, want %d", got, want)
	}
}

func TestReaderHugeMaxMessage(t *testing.T) {
	r := &Reader{MaxMessage: math.MaxInt, Deflate: true}
	var got string
	err := r.Feed(cat(cmf(OpText, true, "squeeze"), mf(OpText, true, "plain")), func(_ byte, p []byte) error {
		got += string(p)
		return nil
	})
	if err != nil || got != "squeezeplain" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestReaderBufferCapacityBounded(t *testing.T) {
	const max = 100_000
	frag := big100K[:10_000]
	var wire []byte
	for i := range 10 {
		op := OpContinuation
		if i == 0 {
			op = OpBinary
		}
		wire = append(wire, mf(op, i == 9, frag)...)
	}
	r := &Reader{MaxMessage: max}
	for i := 0; i < len(wire); i += 999 {
		if err := r.Feed(wire[i:min(i+999, len(wire))], func(byte, []byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if c := cap(r.p.buf); c > max {
			t.Fatalf("buffer capacity %d exceeds MaxMessage %d", c, max)
		}
	}
}

func TestReaderCallbackError(t *testing.T) {
	stop := errors.New("stop")
	wire := cat(mf(OpText, true, "a"), mf(OpText, true, "b"))
	r := &Reader{}
	n := 0
	err := r.Feed(wire, func(byte, []byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("Feed = %v after %d calls, want stop after 1", err, n)
	}
	// The Reader is dead: the same error comes back without parsing.
	if err := r.Feed(mf(OpText, true, "c"), func(byte, []byte) error { n++; return nil }); err != stop || n != 1 {
		t.Fatalf("second Feed = %v (%d calls), want sticky stop", err, n)
	}
}

func TestReaderStickyCloseError(t *testing.T) {
	r := &Reader{}
	err1 := r.Feed(uf(OpText, true, "x"), func(byte, []byte) error { return nil })
	err2 := r.Feed(mf(OpText, true, "x"), func(byte, []byte) error { t.Fatal("message after error"); return nil })
	if err1 == nil || err1 != err2 {
		t.Fatalf("errors %v, %v; want the same CloseError twice", err1, err2)
	}
}

func TestReaderCloseErrorReasonFits(t *testing.T) {
	for _, f := range fixtures() {
		if f.code == 0 {
			continue
		}
		err := newFeeder(f).Feed(bytes.Clone(f.wire), func(byte, []byte) error { return nil })
		var ce *CloseError
		if errors.As(err, &ce) && len(ce.Reason) > maxCloseReason {
			t.Errorf("%s: reason %q longer than %d bytes", f.name, ce.Reason, maxCloseReason)
		}
	}
}

func TestReaderUnmasksInPlace(t *testing.T) {
	wire := mf(OpText, true, "hello")
	r := &Reader{}
	var got []byte
	if err := r.Feed(wire, func(_ byte, p []byte) error { got = p; return nil }); err != nil {
		t.Fatal(err)
	}
	// Documented: the payload aliases p, which now holds the plain text.
	if string(got) != "hello" || &got[0] != &wire[6] {
		t.Fatalf("payload %q does not alias the unmasked input", got)
	}
}

func TestReaderZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	cases := []struct {
		name    string
		deflate bool
		frame   []byte
	}{
		{"text", false, mf(OpText, true, "hello, world")},
		{"binary 64 KiB", false, mf(OpBinary, true, big64K)},
		{"ping", false, mf(OpPing, true, "p")},
		{"compressed text", true, cmf(OpText, true, "hello hello hello hello")},
	}
	for _, c := range cases {
		buf := make([]byte, len(c.frame))
		r := &Reader{Deflate: c.deflate}
		fn := func(byte, []byte) error { return nil }
		allocs := testing.AllocsPerRun(100, func() {
			copy(buf, c.frame)
			if err := r.Feed(buf, fn); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocs per Feed, want 0", c.name, allocs)
		}
	}
}

func TestClientReaderDoesNotModifyInput(t *testing.T) {
	wire := AppendFrame(nil, OpText, []byte("hi"))
	orig := bytes.Clone(wire)
	r := &ClientReader{}
	if err := r.Feed(wire, func(byte, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wire, orig) {
		t.Fatal("ClientReader modified its input")
	}
}

// FuzzReader feeds arbitrary bytes in random chunks and checks that the
// parser never panics, never buffers more than the limit allows, only fails
// with a CloseError the server may send, and that chunking never changes
// the outcome.
func FuzzReader(f *testing.F) {
	for _, fx := range fixtures() {
		if len(fx.wire) <= 4096 {
			f.Add(fx.wire, uint64(len(fx.wire)), fx.deflate, fx.client)
		}
	}
	const maxMsg = 1024
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, deflate, client bool) {
		fx := fixture{max: maxMsg, deflate: deflate, client: client}
		whole := feedChunks(t, newFeeder(fx), data, nil)

		rng := rand.New(rand.NewPCG(seed, seed>>32))
		r := newFeeder(fx)
		buf := bytes.Clone(data)
		var chunked result
		for len(buf) > 0 {
			n := 1 + rng.IntN(min(len(buf), 32))
			chunked.err = r.Feed(buf[:n], func(op byte, p []byte) error {
				chunked.msgs = append(chunked.msgs, msg{op, string(p)})
				return nil
			})
			buf = buf[n:]
			// A partial control frame can be pending on top of a nearly full
			// fragmented message, hence the control-frame allowance.
			if b := r.Buffered(); b > maxMsg+MaxControlPayload {
				t.Fatalf("Buffered() = %d exceeds bound", b)
			}
			if c := cap(parserOf(r).buf); c > maxMsg {
				t.Fatalf("buffer capacity %d exceeds MaxMessage", c)
			}
			if chunked.err != nil {
				break
			}
		}

		for _, res := range []result{whole, chunked} {
			if res.err == nil {
				continue
			}
			var ce *CloseError
			if !errors.As(res.err, &ce) {
				t.Fatalf("error %v is not a CloseError", res.err)
			}
			switch ce.Code {
			case CloseProtocolError, CloseInvalidPayload, CloseMessageTooBig:
			default:
				t.Fatalf("unexpected close code %d", ce.Code)
			}
			if len(ce.Reason) > maxCloseReason {
				t.Fatalf("reason too long: %q", ce.Reason)
			}
		}
		if fmt.Sprint(whole.msgs) != fmt.Sprint(chunked.msgs) || fmt.Sprint(whole.err) != fmt.Sprint(chunked.err) {
			t.Fatalf("chunking changed the result:\nwhole   %s %v\nchunked %s %v", brief(whole.msgs), whole.err, brief(chunked.msgs), chunked.err)
		}
		for _, m := range whole.msgs {
			if m.op == OpText && !utf8.ValidString(m.payload) {
				t.Fatalf("invalid UTF-8 text delivered: %q", m.payload)
			}
			if !isControl(m.op) && len(m.payload) > maxMsg {
				t.Fatalf("message of %d bytes exceeds MaxMessage", len(m.payload))
			}
		}
	})
}

func BenchmarkReaderFeed(b *testing.B) {
	frame := mf(OpText, true, `{"type":"msg","room":"lobby","body":"hello"}`)
	buf := make([]byte, len(frame))
	r := &Reader{}
	fn := func(byte, []byte) error { return nil }
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, frame) // Feed unmasks in place
		if err := r.Feed(buf, fn); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReaderFeedSplit(b *testing.B) {
	frame := mf(OpText, true, `{"type":"msg","room":"lobby","body":"hello"}`)
	buf := make([]byte, len(frame))
	r := &Reader{}
	fn := func(byte, []byte) error { return nil }
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, frame)
		if err := r.Feed(buf[:10], fn); err != nil {
			b.Fatal(err)
		}
		if err := r.Feed(buf[10:], fn); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReaderFeedDeflate(b *testing.B) {
	frame := cmf(OpText, true, `{"type":"msg","room":"lobby","body":"hello hello hello hello"}`)
	buf := make([]byte, len(frame))
	r := &Reader{Deflate: true}
	fn := func(byte, []byte) error { return nil }
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, frame)
		if err := r.Feed(buf, fn); err != nil {
			b.Fatal(err)
		}
	}
}
