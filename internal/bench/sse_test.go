package bench

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestLineReader(t *testing.T) {
	t.Parallel()
	stream := []byte("event: ready\r\ndata: {\"topics\":[]}\n\n: ping\ndata: {\"data\":\"12:ab\"}\n\nid: x")
	want := []string{"event: ready", `data: {"topics":[]}`, "", ": ping", `data: {"data":"12:ab"}`, ""}
	for cut := range len(stream) + 1 {
		var r lineReader
		var got []string
		for _, p := range [][]byte{stream[:cut], stream[cut:]} {
			if err := r.Feed(p, func(l []byte) { got = append(got, string(l)) }); err != nil {
				t.Fatal(err)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || string(r.acc) != "id: x" {
			t.Fatalf("cut %d: %q, left %q", cut, got, r.acc)
		}
	}
	r := lineReader{Max: 8}
	if err := r.Feed([]byte("0123456789"), func([]byte) {}); err == nil {
		t.Fatal("overlong line accepted")
	}
}

func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\r\nb\n\nc"), 2)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		if cut < 0 || cut > len(data) {
			cut = len(data)
		}
		var whole, split []string
		var r1, r2 lineReader
		r1.Feed(data, func(l []byte) { whole = append(whole, string(l)) })
		r2.Feed(data[:cut], func(l []byte) { split = append(split, string(l)) })
		r2.Feed(data[cut:], func(l []byte) { split = append(split, string(l)) })
		if fmt.Sprint(whole) != fmt.Sprint(split) || string(r1.acc) != string(r2.acc) {
			t.Fatalf("whole %q / %q, split at %d %q / %q", whole, r1.acc, cut, split, r2.acc)
		}
	})
}

func TestCheckSSEHead(t *testing.T) {
	t.Parallel()
	ok := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nConnection: close"
	if err := checkSSEHead(ok); err != nil {
		t.Fatal(err)
	}
	for _, head := range []string{
		"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json",
		"HTTP/1.1 200 OK\r\nContent-Type: text/html",
		"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked",
	} {
		if err := checkSSEHead(head); err == nil {
			t.Errorf("%q accepted", head)
		}
	}
}

func TestSSEEndToEnd(t *testing.T) {
	t.Parallel()
	b := startServer(t)
	events := strings.TrimSuffix(strings.Replace(b.URL(), "ws://", "http://", 1), "/ws") + "/events"
	for _, pub := range []string{"", strings.Replace(events, "/events", "/api/publish", 1)} {
		args := []string{"sse", "--url", events, "--conns", "10", "--rate", "200", "--duration", "250ms", "--size", "40", "--timeout", "10s"}
		if pub != "" {
			args = append(args, "--publish-url", pub)
		}
		rep, code, stderr := runMain(t, args...)
		if code != 0 || rep.Error != "" {
			t.Fatalf("publisher %q: code %d, error %q, stderr %s", pub, code, rep.Error, stderr)
		}
		if rep.Sent != 50 || rep.Expected != 500 || rep.Received != 500 || rep.Errors != 0 || rep.Opened != 10 {
			t.Fatalf("publisher %q: sent %d received %d of %d, errors %d", pub, rep.Sent, rep.Received, rep.Expected, rep.Errors)
		}
		if rep.Latency == nil || rep.Latency.Count != 500 {
			t.Fatalf("publisher %q: latency %+v", pub, rep.Latency)
		}
	}
}

func TestSSERefusedTopic(t *testing.T) {
	t.Parallel()
	b := startServer(t)
	events := strings.TrimSuffix(strings.Replace(b.URL(), "ws://", "http://", 1), "/ws") + "/events"
	rep, code, _ := runMain(t, "sse", "--url", events, "--topic", "bad##", "--conns", "2", "--duration", "10ms")
	if code != 1 || rep.Opened != 0 || rep.Failed != 2 || !strings.Contains(rep.Error, "server answered") {
		t.Fatalf("code %d, report %+v", code, rep)
	}
	if _, err := ParseArgs([]string{"sse", "--url", "ws://127.0.0.1/ws"}, io.Discard); err == nil {
		t.Fatal("ws:// events URL accepted")
	}
}
