package httphook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/httphook"
)

// authBackend accepts "Bearer good" as alice, refuses "Bearer bad" with
// 403, anything else with 401; it allows subscribing to "public/#" only.
func authBackend(t *testing.T, hits *atomic.Int64, extra func(w http.ResponseWriter)) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /connect", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		if extra != nil {
			extra(w)
		}
		switch r.Header.Get("Authorization") {
		case "Bearer good":
			json.NewEncoder(w).Encode(map[string]any{"subject": "alice", "claims": map[string]any{"path": body["path"]}})
		case "Bearer bad":
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"account locked"}`)
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	mux.HandleFunc("POST /authorize", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		var body struct {
			Action, Topic string
			Client        struct{ Subject string }
		}
		json.NewDecoder(r.Body).Decode(&body)
		if body.Client.Subject != "alice" || !strings.HasPrefix(body.Topic, "public/") {
			w.WriteHeader(http.StatusForbidden)
		}
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return hs.URL
}

func newHooks(t *testing.T, o httphook.Options) *httphook.Hooks {
	t.Helper()
	h, err := httphook.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestConnect(t *testing.T) {
	var hits atomic.Int64
	url := authBackend(t, &hits, nil)
	h := newHooks(t, httphook.Options{ConnectURL: url + "/connect", ForwardHeaders: []string{"authorization"}})
	ctx := context.Background()
	req := func(auth string) *herald.ConnectRequest {
		return &herald.ConnectRequest{RemoteAddr: "127.0.0.1:4000", Protocol: "herald.v1", Transport: "websocket", Path: "/ws",
			Header: http.Header{"Authorization": {auth}}}
	}
	id, err := h.Connect(ctx, req("Bearer good"))
	if err != nil || id.Subject != "alice" || id.Claims["path"] != "/ws" {
		t.Fatalf("good: %+v %v", id, err)
	}
	if _, err := h.Connect(ctx, req("Bearer bad")); !errors.Is(err, herald.ErrForbidden) || !strings.Contains(err.Error(), "account locked") {
		t.Fatalf("bad: %v", err)
	}
	if _, err := h.Connect(ctx, req("")); !errors.Is(err, herald.ErrUnauthorized) {
		t.Fatalf("none: %v", err)
	}
	// Cached: asking again, from another port, costs no call.
	before := hits.Load()
	r := req("Bearer good")
	r.RemoteAddr = "127.0.0.1:4001"
	if id, err := h.Connect(ctx, r); err != nil || id.Subject != "alice" {
		t.Fatalf("cached: %+v %v", id, err)
	}
	if _, err := h.Connect(ctx, req("Bearer bad")); !errors.Is(err, herald.ErrForbidden) {
		t.Fatalf("cached refusal: %v", err)
	}
	if hits.Load() != before {
		t.Fatalf("%d calls for cached answers", hits.Load()-before)
	}
}

func TestNoStoreAndFailures(t *testing.T) {
	var hits atomic.Int64
	url := authBackend(t, &hits, func(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") })
	h := newHooks(t, httphook.Options{ConnectURL: url + "/connect", ForwardHeaders: []string{"Authorization"}})
	r := &herald.ConnectRequest{RemoteAddr: "127.0.0.1:1", Header: http.Header{"Authorization": {"Bearer good"}}}
	for range 2 {
		if _, err := h.Connect(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if hits.Load() != 2 {
		t.Fatalf("no-store answers were cached (%d calls)", hits.Load())
	}

	// A backend that does not answer in time: refused, not cached.
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	defer stuck.Close()
	h = newHooks(t, httphook.Options{ConnectURL: stuck.URL, Timeout: 100 * time.Millisecond})
	if _, err := h.Connect(context.Background(), r); !errors.Is(err, herald.ErrUnauthorized) {
		t.Fatalf("timeout: %v, want a refusal", err)
	}
	// A backend that is down: refused.
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	h = newHooks(t, httphook.Options{ConnectURL: down.URL})
	if _, err := h.Connect(context.Background(), r); !errors.Is(err, herald.ErrUnauthorized) {
		t.Fatalf("down: %v, want a refusal", err)
	}
}

// TestThroughServer: the hooks as a server's OnConnect and Authorize,
// seen from a herald.v1 client.
func TestThroughServer(t *testing.T) {
	var hits atomic.Int64
	url := authBackend(t, &hits, nil)
	h := newHooks(t, httphook.Options{ConnectURL: url + "/connect", AuthorizeURL: url + "/authorize", ForwardHeaders: []string{"Authorization"}})
	var opts herald.Options
	h.Apply(&opts)
	srv := herald.New(opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	ws := "ws" + strings.TrimPrefix(hs.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, ws, &websocket.DialOptions{Subprotocols: []string{"herald.v1"}})
	if err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a token: %v", err)
	}
	c, _, err := websocket.Dial(ctx, ws, &websocket.DialOptions{Subprotocols: []string{"herald.v1"}, HTTPHeader: http.Header{"Authorization": {"Bearer good"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	call := func(topic string) map[string]any {
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": map[string]any{"topic": topic}})
		c.Write(ctx, websocket.MessageText, b)
		_, m, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var r map[string]any
		json.Unmarshal(m, &r)
		return r
	}
	if r := call("public/news"); r["error"] != nil {
		t.Fatalf("public: %v", r)
	}
	if r := call("private/x"); r["error"] == nil {
		t.Fatalf("private: %v, want a refusal", r)
	}
}

func TestBadURL(t *testing.T) {
	if _, err := httphook.New(httphook.Options{ConnectURL: "unix:///x"}); err == nil {
		t.Fatal("accepted a non-HTTP URL")
	}
}
