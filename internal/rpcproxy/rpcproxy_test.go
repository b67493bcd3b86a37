package rpcproxy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/rpcproxy"
)

// backend is an HTTP service on 127.0.0.1 that records what it got.
func backend(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}

// server runs a herald server whose OnConnect takes the subject from
// X-User, with p serving the methods under prefix.
func server(t *testing.T, prefix string, p *rpcproxy.Proxy) string {
	t.Helper()
	srv := herald.New(herald.Options{
		OnConnect: func(ctx context.Context, r *herald.ConnectRequest) (herald.Identity, error) {
			return herald.Identity{Subject: r.Header.Get("X-User"), Claims: map[string]any{"role": "buyer"}}, nil
		},
	})
	srv.HandlePrefix(prefix, p.Handle)
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
}

// client is a JSON-RPC client that can have many calls in flight.
type client struct {
	c       *websocket.Conn
	mu      sync.Mutex
	waiting map[string]chan map[string]any
	next    atomic.Int64
}

func dial(t *testing.T, url string, hdr http.Header) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"herald.v1"}, HTTPHeader: hdr})
	if err != nil {
		t.Fatal(err)
	}
	cl := &client{c: c, waiting: map[string]chan map[string]any{}}
	done := make(chan struct{})
	t.Cleanup(func() { c.CloseNow(); <-done })
	go func() {
		defer close(done)
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			var m map[string]any
			json.Unmarshal(b, &m)
			id, _ := m["id"].(string)
			cl.mu.Lock()
			ch := cl.waiting[id]
			delete(cl.waiting, id)
			cl.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}()
	return cl
}

// call sends a request and returns a channel with its response.
func (cl *client) call(t *testing.T, method string, params any) <-chan map[string]any {
	t.Helper()
	id := fmt.Sprint(cl.next.Add(1))
	ch := make(chan map[string]any, 1)
	cl.mu.Lock()
	cl.waiting[id] = ch
	cl.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err := cl.c.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	return ch
}

func wait(t *testing.T, ch <-chan map[string]any) map[string]any {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(15 * time.Second):
		t.Fatal("no response")
	}
	return nil
}

func code(m map[string]any) int {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return int(c)
}

func newProxy(t *testing.T, r rpcproxy.Route) *rpcproxy.Proxy {
	t.Helper()
	p, err := rpcproxy.New(r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSuccessAndIdentity: the backend sees the method, the params, the
// caller's identity and the forwarded handshake headers (and only those),
// and its JSON answer is the result.
func TestSuccessAndIdentity(t *testing.T) {
	type seen struct {
		hdr  http.Header
		body map[string]any
	}
	got := make(chan seen, 1)
	url := backend(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		got <- seen{r.Header.Clone(), body}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"order": 42, "status": "created"}`)
	})
	p := newProxy(t, rpcproxy.Route{URL: url, ForwardHeaders: []string{"cookie", "Authorization"}})
	ws := server(t, "orders.", p)
	cl := dial(t, ws, http.Header{"X-User": {"alice"}, "Cookie": {"session=s3cr3t"}, "X-Private": {"not forwarded"}})

	resp := wait(t, cl.call(t, "orders.create", map[string]any{"item": "book"}))
	res, _ := resp["result"].(map[string]any)
	if res["order"] != float64(42) || res["status"] != "created" {
		t.Fatalf("response %v", resp)
	}
	s := <-got
	if s.body["method"] != "orders.create" {
		t.Errorf("method %v", s.body["method"])
	}
	if params, _ := s.body["params"].(map[string]any); params["item"] != "book" {
		t.Errorf("params %v", s.body["params"])
	}
	c, _ := s.body["client"].(map[string]any)
	if c["subject"] != "alice" || c["protocol"] != "herald.v1" || c["transport"] != "websocket" || c["id"] == "" {
		t.Errorf("client %v", c)
	}
	if claims, _ := c["claims"].(map[string]any); claims["role"] != "buyer" {
		t.Errorf("claims %v", c["claims"])
	}
	if s.hdr.Get("Cookie") != "session=s3cr3t" || s.hdr.Get("X-Private") != "" || s.hdr.Get("X-User") != "" {
		t.Errorf("forwarded headers %v", s.hdr)
	}
	if s.hdr.Get("X-Herald-Method") != "orders.create" || s.hdr.Get("X-Herald-Client-Id") != c["id"] {
		t.Errorf("herald headers %v", s.hdr)
	}
	// Outside the prefix there is no handler.
	if r := wait(t, cl.call(t, "users.get", nil)); code(r) != -32601 {
		t.Fatalf("users.get: %v, want -32601", r)
	}
}

// TestBackendErrors: a JSON error object is the client's error; other
// failures have the documented codes.
func TestBackendErrors(t *testing.T) {
	url := backend(t, func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Method string }
		json.NewDecoder(r.Body).Decode(&body)
		switch body.Method {
		case "x.invalid":
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, `{"code": -32602, "message": "quantity must be positive", "data": {"field": "qty"}}`)
		case "x.nested":
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"error": {"code": 4003, "message": "not your order"}}`)
		case "x.crash":
			http.Error(w, "stack trace here", http.StatusInternalServerError)
		case "x.garbage":
			io.WriteString(w, "<html>oops</html>")
		case "x.empty":
			w.WriteHeader(http.StatusNoContent)
		}
	})
	ws := server(t, "x.", newProxy(t, rpcproxy.Route{URL: url}))
	cl := dial(t, ws, nil)
	tests := []struct {
		method string
		code   int
		msg    string
	}{
		{"x.invalid", -32602, "quantity must be positive"},
		{"x.nested", 4003, "not your order"},
		{"x.crash", rpcproxy.CodeBackendError, "backend error: HTTP 500"},
		{"x.garbage", rpcproxy.CodeBackendError, "backend error: the answer is not JSON"},
	}
	for _, tt := range tests {
		r := wait(t, cl.call(t, tt.method, nil))
		e, _ := r["error"].(map[string]any)
		if code(r) != tt.code || e["message"] != tt.msg {
			t.Errorf("%s: %v, want %d %q", tt.method, r, tt.code, tt.msg)
		}
		if tt.method == "x.invalid" {
			if d, _ := e["data"].(map[string]any); d["field"] != "qty" {
				t.Errorf("error data %v", e["data"])
			}
		}
	}
	if r := wait(t, cl.call(t, "x.empty", nil)); r["error"] != nil || r["result"] != nil {
		t.Errorf("204: %v, want a null result", r)
	}
}

// TestBackendDown: nothing listens at the URL: -32010.
func TestBackendDown(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close()
	ws := server(t, "x.", newProxy(t, rpcproxy.Route{URL: url}))
	cl := dial(t, ws, nil)
	if r := wait(t, cl.call(t, "x.y", nil)); code(r) != rpcproxy.CodeUnavailable {
		t.Fatalf("%v, want %d", r, rpcproxy.CodeUnavailable)
	}
}

// TestTimeout: a backend that does not answer within the route's
// timeout gives -32008; the backend sees the request cancelled.
func TestTimeout(t *testing.T) {
	cancelled := make(chan struct{})
	url := backend(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then net/http notices the hang-up
		<-r.Context().Done()
		close(cancelled)
	})
	ws := server(t, "slow.", newProxy(t, rpcproxy.Route{URL: url, Timeout: 200 * time.Millisecond}))
	cl := dial(t, ws, nil)
	if r := wait(t, cl.call(t, "slow.op", nil)); code(r) != rpcproxy.CodeTimeout {
		t.Fatalf("%v, want %d", r, rpcproxy.CodeTimeout)
	}
	<-cancelled
}

// TestConcurrencyLimit: a slow backend never sees more requests at once
// than the route allows; the others wait for a slot and are all answered.
func TestConcurrencyLimit(t *testing.T) {
	const limit, calls = 2, 6
	var inflight, peak atomic.Int64
	arrived := make(chan struct{}, calls)
	release := make(chan struct{})
	url := backend(t, func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		arrived <- struct{}{}
		<-release
		inflight.Add(-1)
		io.WriteString(w, `"ok"`)
	})
	ws := server(t, "slow.", newProxy(t, rpcproxy.Route{URL: url, MaxConcurrency: limit, Timeout: 30 * time.Second}))
	// One connection runs its requests in order; use one per call so
	// they are concurrent.
	var resps []<-chan map[string]any
	for range calls {
		c := dial(t, ws, nil)
		resps = append(resps, c.call(t, "slow.op", nil))
	}
	for range limit {
		<-arrived
	}
	// Let them through one at a time: each release admits one waiter.
	for i := range calls {
		release <- struct{}{}
		if i+limit < calls {
			<-arrived
		}
	}
	for _, ch := range resps {
		if r := wait(t, ch); r["result"] != "ok" {
			t.Fatalf("response %v", r)
		}
	}
	if p := peak.Load(); p != limit {
		t.Fatalf("peak concurrency at the backend %d, want %d", p, limit)
	}
}

// TestOverloaded: a request that finds the route full for its whole
// deadline gets -32005 without reaching the backend.
func TestOverloaded(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	var hits atomic.Int64
	url := backend(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		arrived <- struct{}{}
		<-release
		io.WriteString(w, `1`)
	})
	p := newProxy(t, rpcproxy.Route{URL: url, MaxConcurrency: 1, Timeout: time.Minute})
	first := make(chan error, 1)
	go func() { _, err := p.Handle(context.Background(), nil); first <- err }()
	<-arrived
	// This caller's own deadline ends while the only slot is taken.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := p.Handle(ctx, nil)
	var he *herald.Error
	if !errors.As(err, &he) || he.Code != rpcproxy.CodeOverloaded {
		t.Fatalf("error %v, want code %d", err, rpcproxy.CodeOverloaded)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("backend hit %d times, want 1", n)
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x/y", "/relative", "http://"} {
		if _, err := rpcproxy.New(rpcproxy.Route{URL: u}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}
