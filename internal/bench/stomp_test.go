package bench

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/heraldhq/herald"
)

func TestStompEncode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, got, want string }{
		{"connect", string(appendStompConnect(nil, "/", "", "")), "CONNECT\naccept-version:1.2\nheart-beat:0,0\nhost:/\n\n\x00"},
		{"connect login", string(appendStompConnect(nil, "vh", "gu:est", "p\nw")),
			"CONNECT\naccept-version:1.2\nheart-beat:0,0\nhost:vh\nlogin:gu\\cest\npasscode:p\\nw\n\n\x00"},
		{"subscribe", string(appendStompSubscribe(nil, "7", "/topic/a.b")),
			"SUBSCRIBE\nid:7\ndestination:/topic/a.b\nack:auto\nreceipt:sub-7\n\n\x00"},
		{"disconnect", string(appendStompDisconnect(nil)), "DISCONNECT\n\n\x00"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	p := &stompPub{prefix: appendStompSendHeader(nil, "/topic/t", 30), size: 30}
	got := string(p.build(nil, 1712345678901234567))
	want := "SEND\ndestination:/topic/t\ncontent-type:text/plain\ncontent-length:30\n\n1712345678901234567:abcdefghij\x00"
	if got != want {
		t.Fatalf("send: got %q, want %q", got, want)
	}
}

type stompFrame struct{ cmd, headers, body string }

func collectStomp(t *testing.T, r *stompReader, chunks ...[]byte) []stompFrame {
	t.Helper()
	var out []stompFrame
	for _, c := range chunks {
		if err := r.Feed(c, func(cmd, h, b []byte) error {
			out = append(out, stompFrame{string(cmd), string(h), string(b)})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestStompReaderSplits feeds a stream of frames (with and without
// content-length, a NUL inside a sized body, CRLF line ends, heart-beat
// EOLs) cut at every position, and expects the same frames each time.
func TestStompReaderSplits(t *testing.T) {
	t.Parallel()
	stream := []byte("CONNECTED\nversion:1.2\n\n\x00\n\n" +
		"MESSAGE\ndestination:/topic/a\ncontent-length:5\n\nab\x00cd\x00" +
		"RECEIPT\r\nreceipt-id:sub-1\r\n\r\n\x00\r\n" +
		"MESSAGE\nsubscription:0\n\n123:xyz\x00" +
		"ERROR\nmessage:bad\n\nwhy\x00")
	want := []stompFrame{
		{"CONNECTED", "version:1.2", ""},
		{"MESSAGE", "destination:/topic/a\ncontent-length:5", "ab\x00cd"},
		{"RECEIPT", "receipt-id:sub-1", ""},
		{"MESSAGE", "subscription:0", "123:xyz"},
		{"ERROR", "message:bad", "why"},
	}
	for cut := range len(stream) + 1 {
		var r stompReader
		got := collectStomp(t, &r, stream[:cut], stream[cut:])
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("cut %d: got %q", cut, got)
		}
		if len(r.acc) != 0 {
			t.Fatalf("cut %d: %d bytes left over", cut, len(r.acc))
		}
	}
	var r stompReader
	var got []stompFrame
	for i := range stream {
		got = append(got, collectStomp(t, &r, stream[i:i+1])...)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("byte by byte: got %q", got)
	}
	if v, ok := stompHeader([]byte("a:1\r\ncontent-length:5\ncontent-length:6"), "content-length"); !ok || string(v) != "5" {
		t.Fatalf("header: %q %v", v, ok)
	}
}

func TestStompReaderErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"MESSAGE\ncontent-length:x\n\n\x00",
		"MESSAGE\ncontent-length:-1\n\n\x00",
		"MESSAGE\ncontent-length:2\n\nabc\x00",
	} {
		r := stompReader{Max: 64}
		if err := r.Feed([]byte(in), func(_, _, _ []byte) error { return nil }); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	r := stompReader{Max: 16}
	if err := r.Feed([]byte("MESSAGE\nx:"+strings.Repeat("y", 20)), func(_, _, _ []byte) error { return nil }); err == nil {
		t.Error("oversized frame accepted")
	}
}

func FuzzStompReader(f *testing.F) {
	f.Add([]byte("MESSAGE\ncontent-length:3\n\nabc\x00\nRECEIPT\nreceipt-id:1\n\n\x00"), 7)
	f.Add([]byte("CONNECTED\r\nversion:1.2\r\n\r\n\x00"), 3)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		if cut < 0 || cut > len(data) {
			cut = len(data)
		}
		var whole, split []string
		frame := func(out *[]string) func(c, h, b []byte) error {
			return func(c, h, b []byte) error {
				*out = append(*out, string(c)+"|"+string(h)+"|"+string(b))
				return nil
			}
		}
		r1 := stompReader{Max: 1 << 16}
		err1 := r1.Feed(data, frame(&whole))
		r2 := stompReader{Max: 1 << 16}
		err2 := r2.Feed(data[:cut], frame(&split))
		if err2 == nil {
			err2 = r2.Feed(data[cut:], frame(&split))
		}
		// A split never yields a frame the whole stream does not; with
		// no error, both yield the same frames.
		if err1 == nil && err2 == nil && fmt.Sprint(whole) != fmt.Sprint(split) {
			t.Fatalf("whole %q, split at %d %q", whole, cut, split)
		}
		if err1 == nil && err2 == nil && !bytes.Equal(r1.acc, r2.acc) {
			t.Fatalf("left over: %q vs %q", r1.acc, r2.acc)
		}
	})
}

func TestSTOMPFanoutEndToEnd(t *testing.T) {
	t.Parallel()
	srv := herald.New(herald.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeSTOMP(ln)
	t.Cleanup(func() { srv.Shutdown(t.Context()); ln.Close() })
	ws := startServer(t)
	for _, args := range [][]string{
		{"--url", "stomp://" + ln.Addr().String()},
		{"--url", "tcp://" + ln.Addr().String(), "--protocol", "stomp"},
		{"--url", ws.URL(), "--protocol", "stomp"},
	} {
		rep, code, stderr := runMain(t, append([]string{"fanout", "--conns", "10", "--rate", "200", "--duration", "250ms",
			"--size", "40", "--timeout", "10s"}, args...)...)
		if code != 0 || rep.Error != "" {
			t.Fatalf("%q: code %d, error %q, stderr %s", args, code, rep.Error, stderr)
		}
		if rep.Sent != 50 || rep.Expected != 500 || rep.Received != 500 || rep.Errors != 0 || rep.Opened != 10 {
			t.Fatalf("%q: sent %d received %d of %d, errors %d", args, rep.Sent, rep.Received, rep.Expected, rep.Errors)
		}
		if rep.Latency == nil || rep.Latency.Count != 500 || !strings.HasSuffix(rep.Settings.Mode, " /topic/bench.fanout") {
			t.Fatalf("%q: latency %+v settings %+v", args, rep.Latency, rep.Settings)
		}
	}
}

// TestSTOMPFanoutRefused: a destination Herald refuses is an error in the
// report, not a hang.
func TestSTOMPFanoutRefused(t *testing.T) {
	t.Parallel()
	ws := startServer(t)
	rep, code, _ := runMain(t, "fanout", "--url", ws.URL(), "--protocol", "stomp", "--topic", "/nowhere/x",
		"--conns", "2", "--rate", "100", "--duration", "50ms", "--timeout", "2s")
	if code != 1 || rep.Error == "" || rep.Errors == 0 {
		t.Fatalf("code %d, error %q, errors %d", code, rep.Error, rep.Errors)
	}
}
