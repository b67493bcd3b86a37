package herald_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald"
)

// pollClient speaks the long-polling protocol the way herald.js does.
type pollClient struct {
	base, path, id string
	ack            uint64
}

func httpDo(t *testing.T, method, url, body string, header http.Header) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxT(t), method, url, strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %d, body %q is not JSON", method, url, resp.StatusCode, b)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", method, url, ct)
		}
	}
	return resp.StatusCode, m
}

func openPoll(t *testing.T, base, path string) *pollClient {
	t.Helper()
	status, m := httpDo(t, "POST", base+path, "", nil)
	if status != http.StatusCreated {
		t.Fatalf("open: %d %v", status, m)
	}
	return &pollClient{base: base, path: path, id: m["session"].(string)}
}

func (p *pollClient) url(q string) string {
	return p.base + p.path + "?session=" + p.id + q
}

// post sends body as client message number seq.
func (p *pollClient) post(t *testing.T, seq int, body string) (int, map[string]any) {
	t.Helper()
	return httpDo(t, "POST", p.url(fmt.Sprintf("&seq=%d", seq)), body, nil)
}

// poll returns the next batch after what was acknowledged; wait=false
// answers at once.
func (p *pollClient) poll(t *testing.T, wait bool) (uint64, []map[string]any, map[string]any) {
	t.Helper()
	q := fmt.Sprintf("&ack=%d", p.ack)
	if !wait {
		q += "&wait=0"
	}
	status, m := httpDo(t, "GET", p.url(q), "", nil)
	if status != 200 {
		t.Fatalf("poll: %d %v", status, m)
	}
	var msgs []map[string]any
	for _, v := range m["messages"].([]any) {
		msgs = append(msgs, v.(map[string]any))
	}
	first := uint64(m["seq"].(float64))
	closed, _ := m["closed"].(map[string]any)
	return first, msgs, closed
}

// pollUntil polls (held: each poll returns as soon as something
// arrives) until n messages came, acknowledging as it goes, and checks
// that the numbers run on without a hole.
func (p *pollClient) pollUntil(t *testing.T, n int) []map[string]any {
	t.Helper()
	var out []map[string]any
	for len(out) < n {
		first, msgs, closed := p.poll(t, true)
		if len(msgs) > 0 && first != p.ack+1 {
			t.Fatalf("batch starts at %d after ack %d", first, p.ack)
		}
		out = append(out, msgs...)
		p.ack += uint64(len(msgs))
		if closed != nil {
			t.Fatalf("session closed: %v", closed)
		}
	}
	return out
}

func TestLongPollRequestsAndOrder(t *testing.T) {
	srv, base := startHTTP(t, herald.Options{})
	srv.Handle("echo", func(ctx context.Context, p json.RawMessage) (any, error) {
		c, _ := herald.ClientFromContext(ctx)
		return map[string]any{"params": p, "transport": c.Transport}, nil
	})
	lp := openPoll(t, base, "/poll")
	// Several messages in one POST, one per line.
	status, m := lp.post(t, 1, `{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}
{"jsonrpc":"2.0","id":2,"method":"subscribe","params":{"topic":"o"}}`)
	if status != http.StatusAccepted || m["accepted"] != 2.0 {
		t.Fatalf("post: %d %v", status, m)
	}
	got := lp.pollUntil(t, 2)
	if r := got[0]["result"].(map[string]any); got[0]["id"] != 1.0 || r["transport"] != "longpoll" {
		t.Errorf("echo response %v", got[0])
	}
	if got[1]["id"] != 2.0 || got[1]["error"] != nil {
		t.Errorf("subscribe response %v", got[1])
	}
	const n = 300 // more than one batch's worth of polls' worth
	publish(t, srv, "o", n, "m")
	msgs := lp.pollUntil(t, n)
	for i, msg := range msgs {
		p := msg["params"].(map[string]any)
		if p["seq"] != float64(i+1) || p["data"] != fmt.Sprintf("m%d", i+1) {
			t.Fatalf("message %d: %v", i, msg)
		}
	}
}

// TestLongPollResendsUnacknowledged: a response lost on the way (the
// client polls again with the same ack) is sent again; acknowledged
// messages are gone.
func TestLongPollResendsUnacknowledged(t *testing.T) {
	srv, base := startHTTP(t, herald.Options{})
	lp := openPoll(t, base, "/poll")
	lp.post(t, 1, `{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"r"}}`)
	lp.pollUntil(t, 1)
	publish(t, srv, "r", 3, "m")
	waitFor(t, func() bool { _, msgs, _ := lp.poll(t, false); return len(msgs) == 3 })
	first, again, _ := lp.poll(t, false) // "lost" the previous answer: same ack
	if first != lp.ack+1 || len(again) != 3 {
		t.Fatalf("re-poll: first %d, %d messages", first, len(again))
	}
	lp.ack += 2
	first, rest, _ := lp.poll(t, false)
	if first != lp.ack+1 || len(rest) != 1 || rest[0]["params"].(map[string]any)["data"] != "m3" {
		t.Errorf("after acking two: first %d %v", first, rest)
	}
	if status, m := httpDo(t, "GET", lp.url("&ack=99&wait=0"), "", nil); status != 400 || errCode(m) != "bad_ack" {
		t.Errorf("ack beyond what was sent: %d %v", status, m)
	}
}

// TestPostDedupe: a retried POST (same seq) is not run twice, even when
// the first attempt's answer was lost; out-of-order numbers are fine.
func TestPostDedupe(t *testing.T) {
	srv, base := startHTTP(t, herald.Options{})
	var calls atomic.Int32
	srv.Handle("count", func(context.Context, json.RawMessage) (any, error) { return calls.Add(1), nil })
	lp := openPoll(t, base, "/poll")
	req := func(id int) string { return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"count"}`, id) }
	for _, tc := range []struct {
		seq, id int
		dup     bool
	}{{1, 1, false}, {1, 1, true}, {3, 3, false}, {2, 2, false}, {3, 3, true}, {2, 2, true}} {
		status, m := lp.post(t, tc.seq, req(tc.id))
		if tc.dup && (status != 200 || m["duplicate"] != true) || !tc.dup && status != 202 {
			t.Errorf("POST seq %d: %d %v (duplicate expected: %v)", tc.seq, status, m, tc.dup)
		}
	}
	got := lp.pollUntil(t, 3)
	if calls.Load() != 3 || len(got) != 3 {
		t.Errorf("%d calls, %d responses; want 3 and 3", calls.Load(), len(got))
	}
	if status, m := lp.post(t, 200, req(9)); status != http.StatusConflict || errCode(m) != "bad_seq" {
		t.Errorf("seq far ahead: %d %v", status, m)
	}
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// TestLongPollBadInput: unknown and ended sessions, oversize bodies and
// junk get a JSON error and leave other sessions alone.
func TestLongPollBadInput(t *testing.T) {
	srv, base := startHTTP(t, herald.Options{MaxMessageSize: 1024})
	srv.Handle("ping", func(context.Context, json.RawMessage) (any, error) { return "pong", nil })
	other := openPoll(t, base, "/poll")
	lp := openPoll(t, base, "/poll")

	if status, m := httpDo(t, "GET", base+"/poll?session=nope", "", nil); status != 404 || errCode(m) != "session_not_found" {
		t.Errorf("unknown session: %d %v", status, m)
	}
	if status, m := httpDo(t, "GET", base+"/poll", "", nil); status != 400 || errCode(m) != "no_session" {
		t.Errorf("no session: %d %v", status, m)
	}
	if status, m := lp.post(t, 1, strings.Repeat(" ", 2000)); status != 413 || errCode(m) != "too_large" {
		t.Errorf("oversize POST: %d %v", status, m)
	}
	// Not JSON: the protocol answers with its parse error, in the log.
	lp.post(t, 2, `{"jsonrpc":"2.0","id":1,"method":"ping"} not json`)
	got := lp.pollUntil(t, 2)
	if got[0]["result"] != "pong" || got[1]["error"].(map[string]any)["code"] != -32700.0 {
		t.Errorf("answers %v", got)
	}

	if status, _ := httpDo(t, "DELETE", lp.url(""), "", nil); status != 204 {
		t.Errorf("DELETE: %d", status)
	}
	waitFor(t, func() bool {
		status, m := httpDo(t, "GET", lp.url("&wait=0"), "", nil)
		return status == 410 && errCode(m) == "session_closed"
	})
	if status, m := lp.post(t, 3, `{}`); status != 410 {
		t.Errorf("POST to an ended session: %d %v", status, m)
	}

	// The other session never noticed.
	other.post(t, 1, `{"jsonrpc":"2.0","id":7,"method":"ping"}`)
	if got := other.pollUntil(t, 1); got[0]["result"] != "pong" {
		t.Errorf("other session: %v", got)
	}
}

// TestHTTPStream: the streaming transport carries the same session; a
// reconnect with Last-Event-ID acknowledges and resumes.
func TestHTTPStream(t *testing.T) {
	srv, base := startHTTP(t, herald.Options{})
	sp := openPoll(t, base, "/stream")
	c := openSSE(t, sp.url(""), nil)
	sp.post(t, 1, `{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"s"}}`)
	if e := c.expect("message"); e.ID != "1" || e.json(t)["id"] != 1.0 {
		t.Fatalf("subscribe response %+v", e)
	}
	publish(t, srv, "s", 2, "m")
	var last sseEvent
	for i := 2; i <= 3; i++ {
		last = c.expect("message")
		if last.ID != fmt.Sprint(i) {
			t.Errorf("event id %q, want %d", last.ID, i)
		}
	}
	c.resp.Body.Close()
	publish(t, srv, "s", 1, "late")
	c2 := openSSE(t, sp.url(""), http.Header{"Last-Event-ID": {last.ID}})
	if e := c2.expect("message"); e.ID != "4" || e.json(t)["params"].(map[string]any)["data"] != "late1" {
		t.Errorf("after reconnect: %+v", e)
	}
	// The same session may be polled too; a poll takes over from the stream.
	pp := &pollClient{base: base, path: "/poll", id: sp.id, ack: 4}
	publish(t, srv, "s", 1, "polled")
	if got := pp.pollUntil(t, 1); got[0]["params"].(map[string]any)["data"] != "polled1" {
		t.Errorf("poll after stream: %v", got)
	}
	if _, ok := <-c2.events; ok {
		// drain: the stream ends when the poll replaced it
		for range c2.events {
		}
	}
}

// TestEmulatedSessionEndsOnShutdown: a held poll returns the end at once.
func TestEmulatedSessionEndsOnShutdown(t *testing.T) {
	srv := herald.New(herald.Options{})
	hs := newTestServer(srv.PollHandler())
	defer hs.Close()
	lp := openPoll(t, hs.URL, "")
	done := make(chan string, 1)
	go func() {
		resp, err := http.Get(lp.url("&ack=0"))
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- string(b)
	}()
	waitFor(t, func() bool { return srv.Connections() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := <-done; !strings.Contains(got, `"closed":{"code":1001`) {
		t.Errorf("held poll answered %q, want the end with code 1001", got)
	}
}
