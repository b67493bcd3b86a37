package bench

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/heraldhq/herald/internal/wsframe"
)

func TestParseTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Target
		err  bool
	}{
		{"ws://127.0.0.1:8080/ws", Target{Addr: "127.0.0.1:8080", Host: "127.0.0.1:8080", Path: "/ws"}, false},
		{"ws://localhost/ws?x=1", Target{Addr: "localhost:80", Host: "localhost", Path: "/ws?x=1"}, false},
		{"ws://[::1]:9/", Target{Addr: "[::1]:9", Host: "[::1]:9", Path: "/"}, false},
		{"wss://127.0.0.1/ws", Target{}, true},
		{"http://127.0.0.1/ws", Target{}, true},
		{"ws:///ws", Target{}, true},
		{"://", Target{}, true},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseTarget(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

// fakeServer answers one handshake on the server end of a pipe with
// respond(request) followed by extra bytes, then hangs up.
func fakeServer(t *testing.T, respond func(r *http.Request) string, extra []byte) net.Conn {
	t.Helper()
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		r, err := http.ReadRequest(bufio.NewReader(server))
		if err != nil {
			return
		}
		server.Write(append([]byte(respond(r)), extra...))
	}()
	t.Cleanup(func() { client.Close() })
	return client
}

func accept(proto string) func(r *http.Request) string {
	return func(r *http.Request) string {
		s := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			wsframe.AcceptKey(r.Header.Get("Sec-WebSocket-Key"))
		if proto != "" {
			s += "\r\nsec-websocket-protocol: " + proto
		}
		return s + "\r\n\r\n"
	}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	target := Target{Addr: "x:1", Host: "x:1", Path: "/ws"}
	frame := wsframe.AppendFrame(nil, wsframe.OpText, []byte("hello"))
	var got *http.Request
	c := fakeServer(t, func(r *http.Request) string { got = r; return accept("chat")(r) }, frame)
	rest, err := handshake(c, target, "chat", make([]byte, 4096))
	if err != nil {
		t.Fatal(err)
	}
	if string(rest) != string(frame) {
		t.Fatalf("bytes after the response: %q, want the frame %q", rest, frame)
	}
	if got.Method != "GET" || got.URL.Path != "/ws" || got.Host != "x:1" || got.Header.Get("Sec-WebSocket-Version") != "13" ||
		got.Header.Get("Sec-WebSocket-Protocol") != "chat" || wsframe.CheckRequest(got) != nil {
		t.Fatalf("request %+v", got)
	}
}

func TestHandshakeFailures(t *testing.T) {
	t.Parallel()
	target := Target{Addr: "x:1", Host: "x:1", Path: "/ws"}
	tests := map[string]struct {
		respond func(r *http.Request) string
		proto   string
		want    string
	}{
		"status": {func(*http.Request) string { return "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" }, "", `"HTTP/1.1 400 Bad Request"`},
		"accept": {func(*http.Request) string {
			return "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n"
		}, "", "does not match"},
		"upgrade":  {func(r *http.Request) string { return strings.Replace(accept("")(r), "websocket", "h2c", 1) }, "", "Upgrade header"},
		"protocol": {accept(""), "chat", `selected subprotocol ""`},
		"eof":      {func(*http.Request) string { return "HTTP/1.1 101" }, "", "read response"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := fakeServer(t, tt.respond, nil)
			_, err := handshake(c, target, tt.proto, make([]byte, 4096))
			if !errors.Is(err, errHandshake) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		t.Parallel()
		c := fakeServer(t, func(*http.Request) string { return "HTTP/1.1 101 OK\r\nX: " + strings.Repeat("a", 200) }, nil)
		if _, err := handshake(c, target, "", make([]byte, 64)); err == nil || !strings.Contains(err.Error(), "exceed") {
			t.Fatalf("err = %v", err)
		}
	})
}
