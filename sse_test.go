package herald_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/position"
)

// startHTTP runs srv with every transport mounted as the binary does.
func startHTTP(t *testing.T, opts herald.Options) (*herald.Server, string) {
	t.Helper()
	srv := herald.New(opts)
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	mux.Handle("/events", srv.EventsHandler())
	mux.Handle("/poll", srv.PollHandler())
	mux.Handle("/stream", srv.StreamHandler())
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return srv, hs.URL
}

// sseEvent is one dispatched event of a text/event-stream.
type sseEvent struct {
	ID, Type, Data string
}

func (e sseEvent) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(e.Data), &m); err != nil {
		t.Fatalf("event data %q: %v", e.Data, err)
	}
	return m
}

// sseClient reads a stream the way the HTML standard's parser does.
type sseClient struct {
	t      *testing.T
	resp   *http.Response
	events chan sseEvent
	retry  chan string
	done   chan error
}

func openSSE(t *testing.T, url string, header http.Header) *sseClient {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxT(t), "GET", url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	c := &sseClient{t: t, resp: resp, events: make(chan sseEvent, 1024), retry: make(chan string, 4), done: make(chan error, 1)}
	go c.read()
	return c
}

func (c *sseClient) read() {
	br := bufio.NewReader(c.resp.Body)
	var cur sseEvent
	var data []string
	has := false
	lastID := ""
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			c.done <- err
			close(c.events)
			return
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		switch {
		case line == "":
			if has {
				cur.Data = strings.Join(data, "\n")
				cur.ID = lastID
				if cur.Type == "" {
					cur.Type = "message"
				}
				c.events <- cur
			}
			cur, data, has = sseEvent{}, nil, false
		case strings.HasPrefix(line, ":"):
		default:
			f, v, _ := strings.Cut(line, ":")
			v = strings.TrimPrefix(v, " ")
			switch f {
			case "id":
				lastID = v
			case "event":
				cur.Type = v
			case "data":
				data, has = append(data, v), true
			case "retry":
				c.retry <- v
			}
		}
	}
}

func (c *sseClient) next() sseEvent {
	c.t.Helper()
	select {
	case e, ok := <-c.events:
		if !ok {
			c.t.Fatalf("stream ended: %v", <-c.done)
		}
		return e
	case <-time.After(10 * time.Second):
		c.t.Fatal("no event")
	}
	return sseEvent{}
}

// expect reads events until one of type typ.
func (c *sseClient) expect(typ string) sseEvent {
	c.t.Helper()
	e := c.next()
	if e.Type != typ {
		c.t.Fatalf("event %+v, want type %s", e, typ)
	}
	return e
}

func publish(t *testing.T, srv *herald.Server, topic string, n int, prefix string) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if _, err := srv.Publish(context.Background(), topic, fmt.Appendf(nil, "%s%d", prefix, i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSSEFramingAndResume(t *testing.T) {
	srv, base := startHTTP(t, herald.Options{})
	c := openSSE(t, base+"/events?topic=a/b&topic=c/%23", nil)
	if ct := c.resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type %q", ct)
	}
	select {
	case r := <-c.retry:
		if r < "2000" || len(r) != 4 {
			t.Errorf("retry %q, want 2000-4000 ms", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no retry field")
	}
	ready := c.expect("ready")
	if got := ready.json(t)["topics"]; fmt.Sprint(got) != "[a/b c/#]" {
		t.Errorf("ready topics %v", got)
	}
	// The ready event's id already holds a's position, so a client that
	// reconnects before any message arrives misses nothing.
	pos, err := position.Decode(ready.ID)
	if err != nil || pos["a/b"].Epoch == "" {
		t.Fatalf("ready id %q: %v %v", ready.ID, pos, err)
	}

	publish(t, srv, "a/b", 2, "ab")
	publish(t, srv, "c/d", 1, "cd")
	var last sseEvent
	for _, want := range []string{"a/b ab1 1", "a/b ab2 2", "c/d cd1 1"} {
		last = c.expect("message")
		m := last.json(t)
		if got := fmt.Sprintf("%v %v %v", m["topic"], m["data"], m["seq"]); got != want {
			t.Errorf("message %s, want %s", got, want)
		}
	}
	pos, _ = position.Decode(last.ID)
	if pos["a/b"].Seq != 2 || pos["c/d"].Seq != 1 {
		t.Errorf("last id holds %v, want a/b at 2 and c/d at 1", pos)
	}
	c.resp.Body.Close()

	// Published while the client is away: the reconnect with the last id
	// replays exactly these, then goes live.
	publish(t, srv, "a/b", 1, "ab-late")
	publish(t, srv, "c/d", 1, "cd-late")
	c2 := openSSE(t, base+"/events?topic=a/b&topic=c/%23", http.Header{"Last-Event-ID": {last.ID}})
	for _, want := range []string{"a/b ab-late1 3", "c/d cd-late1 2"} {
		m := c2.expect("message").json(t)
		if got := fmt.Sprintf("%v %v %v", m["topic"], m["data"], m["seq"]); got != want {
			t.Errorf("replayed %s, want %s", got, want)
		}
	}
	c2.expect("ready")
	publish(t, srv, "a/b", 1, "live")
	if m := c2.expect("message").json(t); m["data"] != "live1" || m["seq"] != 4.0 {
		t.Errorf("live after replay: %v", m)
	}
}

func TestSSEMissedWhenHistoryIsShort(t *testing.T) {
	srv, base := startHTTP(t, herald.Options{HistorySize: 2})
	c := openSSE(t, base+"/events?topic=t", nil)
	c.expect("ready")
	publish(t, srv, "t", 1, "m")
	seen := c.expect("message")
	c.resp.Body.Close()
	publish(t, srv, "t", 5, "away") // seqs 2..6; history keeps 5 and 6

	c2 := openSSE(t, base+"/events?topic=t", http.Header{"Last-Event-ID": {seen.ID}})
	missed := c2.expect("missed")
	if m := missed.json(t); m["from"] != 2.0 || m["to"] != 4.0 || m["reset"] != nil {
		t.Errorf("missed %v, want from 2 to 4", m)
	}
	for _, want := range []float64{5, 6} {
		if m := c2.expect("message").json(t); m["seq"] != want {
			t.Errorf("replay seq %v, want %v", m["seq"], want)
		}
	}
	// The missed event moved the position on: resuming from its id
	// reports nothing missed again.
	if p, _ := position.Decode(missed.ID); p["t"].Seq != 4 {
		t.Errorf("missed id position %v", p)
	}
}

func TestSSEMalformedLastEventID(t *testing.T) {
	srv, base := startHTTP(t, herald.Options{})
	publish(t, srv, "t", 3, "old")
	c := openSSE(t, base+"/events?topic=t&topic=w/%23", http.Header{"Last-Event-ID": {"not a token!"}})
	got := map[string]map[string]any{}
	for range 2 {
		e := c.expect("missed")
		m := e.json(t)
		got[m["topic"].(string)] = m
	}
	if m := got["t"]; m["reset"] != true || m["from"] != 1.0 || m["to"] != 3.0 {
		t.Errorf("missed for t: %v, want reset 1..3", m)
	}
	if m := got["w/#"]; m["reset"] != true {
		t.Errorf("missed for w/#: %v", m)
	}
	c.expect("ready") // a fresh start: live from here, nothing replayed
	publish(t, srv, "t", 1, "new")
	if m := c.expect("message").json(t); m["seq"] != 4.0 {
		t.Errorf("live message %v", m)
	}
}

func TestSSERefusals(t *testing.T) {
	_, base := startHTTP(t, herald.Options{
		AllowedOrigins: []string{"https://app.example.com"},
		OnConnect: func(ctx context.Context, r *herald.ConnectRequest) (herald.Identity, error) {
			if r.Header.Get("Authorization") != "Bearer good" {
				return herald.Identity{}, fmt.Errorf("%w: bad token", herald.ErrUnauthorized)
			}
			return herald.Identity{Subject: "u"}, nil
		},
		Authorize: func(ctx context.Context, c *herald.Client, a herald.Action, topic string) error {
			if strings.HasPrefix(topic, "secret") {
				return herald.ErrForbidden
			}
			return nil
		},
	})
	tests := []struct {
		name, method, query, origin string
		status                      int
		code                        string
	}{
		{"no token", "GET", "?topic=a", "", 401, "unauthorized"},
		{"token ok", "GET", "?topic=a&access_token=good", "", 200, ""},
		{"forbidden topic", "GET", "?topic=a&topic=secret/x&access_token=good", "", 403, "forbidden"},
		{"no topic", "GET", "?access_token=good", "", 400, "bad_topic"},
		{"bad filter", "GET", "?topic=a/%23/b&access_token=good", "", 400, "bad_topic"},
		{"wrong method", "PUT", "?topic=a", "", 405, "method_not_allowed"},
		{"refresh of an unknown stream", "POST", "?stream=nope&access_token=good", "", 404, "unknown_stream"},
		{"foreign origin", "GET", "?topic=a&access_token=good", "https://evil.example", 403, "origin_not_allowed"},
		{"allowed origin", "GET", "?topic=a&access_token=good", "https://app.example.com", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctxT(t), tt.method, base+"/events"+tt.query, nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.origin != "" && tt.status == 200 {
				if resp.Header.Get("Access-Control-Allow-Origin") != tt.origin || resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
					t.Errorf("CORS headers %v", resp.Header)
				}
			}
			if tt.code == "" {
				return
			}
			var e struct{ Error struct{ Code string } }
			json.NewDecoder(resp.Body).Decode(&e)
			if e.Error.Code != tt.code {
				t.Errorf("error code %q, want %q", e.Error.Code, tt.code)
			}
		})
	}
}

// TestSSEPreflight: a page of an allowed origin may send Last-Event-ID
// and Authorization; no wildcard is ever combined with credentials.
func TestSSEPreflight(t *testing.T) {
	_, base := startHTTP(t, herald.Options{AllowedOrigins: []string{"*.example.com"}})
	req, _ := http.NewRequest("OPTIONS", base+"/events?topic=a", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Last-Event-ID") {
		t.Errorf("preflight %d %v", resp.StatusCode, h)
	}
}

// TestSSEIdleStreamsHoldNoGoroutine: once streams are open, their count
// does not show in the goroutine count (the event loop serves them).
func TestSSEIdleStreamsHoldNoGoroutine(t *testing.T) {
	srv, base := startHTTP(t, herald.Options{})
	const streams = 50
	// Raw connections: an http.Client would add its own reader goroutine
	// per stream on our side of the count.
	conns := make([]*bufio.Reader, 0, streams)
	before := runtime.NumGoroutine()
	addr := strings.TrimPrefix(base, "http://")
	for i := range streams {
		c := rawHTTP(t, addr, fmt.Sprintf("GET /events?topic=idle/%d HTTP/1.1\r\nHost: x\r\n\r\n", i))
		conns = append(conns, c)
	}
	for _, br := range conns {
		if line, _ := br.ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("status line %q", line)
		}
	}
	waitFor(t, func() bool { return srv.Connections() == streams })
	// Handlers have returned once the sessions are registered; give the
	// HTTP server's per-connection goroutines a moment to finish.
	var after int
	waitFor(t, func() bool { after = runtime.NumGoroutine(); return after-before < streams/5 })
	t.Logf("goroutines: %d before, %d with %d idle streams", before, after, streams)
}

// TestSSEOverHTTP2 covers connections that cannot be taken over: the
// handler's goroutine serves the stream.
func TestSSEOverHTTP2(t *testing.T) {
	srv := herald.New(herald.Options{})
	hs := httptest.NewUnstartedServer(srv.EventsHandler())
	hs.EnableHTTP2 = true
	hs.StartTLS()
	defer hs.Close()
	defer srv.Shutdown(context.Background())
	client := hs.Client()
	req, _ := http.NewRequestWithContext(ctxT(t), "GET", hs.URL+"/events?topic=h2", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("protocol %s", resp.Proto)
	}
	c := &sseClient{t: t, resp: resp, events: make(chan sseEvent, 16), retry: make(chan string, 4), done: make(chan error, 1)}
	go c.read()
	c.expect("ready")
	publish(t, srv, "h2", 1, "x")
	if m := c.expect("message").json(t); m["data"] != "x1" {
		t.Errorf("message %v", m)
	}
	resp.Body.Close()
	waitFor(t, func() bool { return srv.Connections() == 0 })
}

// TestOneTokenEveryTransport: the id of an SSE event resumes a WebSocket
// subscription (since = the token) and a long-poll one alike.
func TestOneTokenEveryTransport(t *testing.T) {
	srv, base := startHTTP(t, herald.Options{})
	c := openSSE(t, base+"/events?topic=x/%23", nil)
	c.expect("ready")
	publish(t, srv, "x/1", 2, "a")
	c.expect("message")
	tok := c.expect("message").ID
	publish(t, srv, "x/1", 1, "after")
	publish(t, srv, "x/2", 1, "other") // x/2 is not in the token: not replayed

	ws := newRPC(t, base)
	ws.send(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": map[string]any{"topic": "x/#", "since": tok}})
	n := ws.note()
	if p := n["params"].(map[string]any); p["data"] != "after1" || p["seq"] != 3.0 {
		t.Errorf("WebSocket replay %v", n)
	}
	if r := ws.response(); r["error"] != nil {
		t.Fatalf("subscribe: %v", r)
	}
	if r := ws.call(2, "subscribe", map[string]any{"topic": "y", "since": "garbage"}); errorCode(r) != -32602 {
		t.Errorf("malformed token over WebSocket: %v", r)
	}

	lp := openPoll(t, base, "/poll")
	lp.post(t, 1, `{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"x/#","since":"`+tok+`"}}`)
	msgs := lp.pollUntil(t, 2)
	if p := msgs[0]["params"].(map[string]any); p["data"] != "after1" {
		t.Errorf("long-poll replay %v", msgs[0])
	}
	if msgs[1]["id"] != 1.0 {
		t.Errorf("then the subscribe result: %v", msgs[1])
	}
}

func rawHTTP(t *testing.T, addr, req string) *bufio.Reader {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return bufio.NewReader(c)
}
