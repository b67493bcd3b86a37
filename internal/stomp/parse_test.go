package stomp_test

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/heraldhq/herald/internal/stomp"
	"github.com/heraldhq/herald/internal/stomp/stomptest"
)

// parseChunks feeds raw to a fresh parser in the given pieces and returns
// the frames and the error, checking the buffering bound on the way.
func parseChunks(t testing.TB, v stomp.Version, lim stomp.Limits, chunks [][]byte) ([]stomp.Frame, error) {
	p := stomp.Parser{Limits: lim, Version: v}
	var frames []stomp.Frame
	for _, c := range chunks {
		err := p.Feed(c, func(f *stomp.Frame) error {
			frames = append(frames, *f)
			return nil
		})
		if p.Buffered() > lim.MaxBuffered() {
			t.Fatalf("parser holds %d bytes, bound %d", p.Buffered(), lim.MaxBuffered())
		}
		if err != nil {
			return frames, err
		}
	}
	return frames, nil
}

func splitEvery(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

func sameFrames(a, b []stomp.Frame) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Command != b[i].Command || !bytes.Equal(a[i].Body, b[i].Body) ||
			len(a[i].Headers) != len(b[i].Headers) || len(a[i].Headers) > 0 && !reflect.DeepEqual(a[i].Headers, b[i].Headers) {
			return false
		}
	}
	return true
}

func checkResult(t *testing.T, how string, fx stomptest.Fixture, frames []stomp.Frame, err error) {
	t.Helper()
	if !sameFrames(frames, fx.Frames) {
		t.Errorf("%s: frames\n got %+v\nwant %+v", how, frames, fx.Frames)
	}
	switch {
	case fx.Err == "" && err != nil:
		t.Errorf("%s: unexpected error %v", how, err)
	case fx.Err != "" && (err == nil || !strings.Contains(err.Error(), fx.Err)):
		t.Errorf("%s: error %v, want one containing %q", how, err, fx.Err)
	}
}

// TestParseFixtures reads every fixture whole, a byte at a time and split
// at every point: the stream's cut never changes the result.
func TestParseFixtures(t *testing.T) {
	t.Parallel()
	for _, fx := range stomptest.Fixtures {
		t.Run(fx.Name, func(t *testing.T) {
			t.Parallel()
			raw := []byte(fx.Raw)
			frames, err := parseChunks(t, fx.Version, fx.Limits, [][]byte{raw})
			checkResult(t, "whole", fx, frames, err)
			frames, err = parseChunks(t, fx.Version, fx.Limits, splitEvery(raw, 1))
			checkResult(t, "byte by byte", fx, frames, err)
			for i := 1; i < len(raw); i++ {
				frames, err = parseChunks(t, fx.Version, fx.Limits, [][]byte{raw[:i], raw[i:]})
				checkResult(t, fmt.Sprintf("split at %d", i), fx, frames, err)
			}
		})
	}
}

// TestAppendFrameRoundTrip encodes every fixture frame in its version and
// reads it back.
func TestAppendFrameRoundTrip(t *testing.T) {
	t.Parallel()
	for _, fx := range stomptest.Fixtures {
		for _, f := range fx.Frames {
			raw := stomp.AppendFrame(nil, fx.Version, &f)
			got, err := parseChunks(t, fx.Version, fx.Limits, [][]byte{raw})
			if err != nil || !sameFrames(got, []stomp.Frame{f}) {
				t.Errorf("%s: %q read back as %+v, %v", fx.Name, raw, got, err)
			}
		}
	}
}

func TestAppendFrameEscaping(t *testing.T) {
	t.Parallel()
	hs := []stomp.Header{{Key: "k:x", Value: "a\r\nb:c\\d"}, {Key: "cr", Value: "x\ry"}, {Key: "end", Value: "z\r"}, {Key: "", Value: "no name"}}
	tests := []struct {
		v    stomp.Version
		cmd  string
		want string
	}{
		{stomp.V12, "MESSAGE", "MESSAGE\nk\\cx:a\\r\\nb\\cc\\\\d\ncr:x\\ry\nend:z\\r\n\nbody\x00"},
		// 1.1 has no \r escape: a CR inside a value goes as is, and one
		// that ends the value is followed by a CRLF line end, of which a
		// parser drops exactly one CR.
		{stomp.V11, "MESSAGE", "MESSAGE\nk\\cx:a\r\\nb\\cc\\\\d\ncr:x\ry\nend:z\r\r\n\nbody\x00"},
		// 1.0 escapes nothing: what it cannot carry (a line feed, a colon
		// in a name) is left out.
		{stomp.V10, "MESSAGE", "MESSAGE\ncr:x\ry\nend:z\r\r\n\nbody\x00"},
		{stomp.V12, "CONNECTED", "CONNECTED\ncr:x\ry\nend:z\r\r\n\nbody\x00"},
	}
	for _, tt := range tests {
		got := string(stomp.AppendFrame(nil, tt.v, &stomp.Frame{Command: tt.cmd, Headers: hs, Body: []byte("body")}))
		if got != tt.want {
			t.Errorf("%v %s:\n got %q\nwant %q", tt.v, tt.cmd, got, tt.want)
		}
		// What was written reads back with the carried values intact.
		back, err := parseChunks(t, tt.v, stomp.Limits{}, [][]byte{[]byte(got)})
		if err != nil || len(back) != 1 {
			t.Fatalf("%v %s: read back %v, %v", tt.v, tt.cmd, back, err)
		}
		if v, _ := back[0].Get("end"); v != "z\r" {
			t.Errorf("%v %s: end read back as %q", tt.v, tt.cmd, v)
		}
	}
}

func TestFrameGetFirstWins(t *testing.T) {
	t.Parallel()
	f := stomp.Frame{Headers: []stomp.Header{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}, {Key: "b", Value: ""}}}
	if v, ok := f.Get("a"); !ok || v != "1" {
		t.Errorf("Get(a) = %q %v, want the first entry", v, ok)
	}
	if v, ok := f.Get("b"); !ok || v != "" {
		t.Errorf("Get(b) = %q %v, want present and empty", v, ok)
	}
	if _, ok := f.Get("c"); ok {
		t.Error("Get(c) found a missing header")
	}
}

// TestParserReleasesBuffer checks that an idle parser holds nothing and a
// parser that failed stays failed.
func TestParserReleasesBuffer(t *testing.T) {
	t.Parallel()
	var p stomp.Parser
	n := 0
	count := func(*stomp.Frame) error { n++; return nil }
	big := "SEND\ndestination:/topic/a\n\n" + strings.Repeat("x", 60000) + "\x00"
	for _, c := range splitEvery([]byte(big), 1000) {
		if err := p.Feed(c, count); err != nil {
			t.Fatal(err)
		}
	}
	if n != 1 || p.Buffered() != 0 {
		t.Fatalf("%d frames, %d bytes held after a complete frame", n, p.Buffered())
	}
	if err := p.Feed([]byte("bad\n\n\x00"), count); err == nil {
		t.Fatal("no error for a bad command")
	}
	if err := p.Feed([]byte("SEND\n\n\x00"), count); err == nil || n != 1 {
		t.Fatalf("a failed parser went on: %v, %d frames", err, n)
	}
}

func BenchmarkParse(b *testing.B) {
	frame := []byte("SEND\ndestination:/topic/bench\ncontent-type:text/plain\ncontent-length:64\n\n" + strings.Repeat("x", 64) + "\x00")
	var p stomp.Parser
	p.Version = stomp.V12
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		p.Feed(frame, func(*stomp.Frame) error { return nil })
	}
}
