package herald_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/testutil"
	"github.com/heraldhq/herald/internal/wsframe"
)

// nodeFixture serves every transport behind a proxy the test can cut,
// plus a control server the Node scripts drive: /publish?topic=&n=,
// /cut, /block, /unblock and /stats (the Last-Event-ID headers /events
// received).
func nodeFixture(t *testing.T, opts herald.Options) (heraldURL, controlURL string) {
	t.Helper()
	srv := herald.New(opts)
	srv.Handle("echo", func(ctx context.Context, p json.RawMessage) (any, error) {
		c, _ := herald.ClientFromContext(ctx)
		return map[string]any{"params": p, "transport": c.Transport}, nil
	})
	var mu sync.Mutex
	lastEventIDs := []string{}
	events := srv.EventsHandler()
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	mux.Handle("/stream", srv.StreamHandler())
	mux.Handle("/poll", srv.PollHandler())
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("Last-Event-ID"); id != "" {
			mu.Lock()
			lastEventIDs = append(lastEventIDs, id)
			mu.Unlock()
		}
		events.ServeHTTP(w, r)
	})
	// A proxy that swallows WebSocket handshakes: no answer, ever.
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	// One that completes the handshake, then kills the connection.
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: herald.v1\r\n\r\n", wsframe.AcceptKey(r.Header.Get("Sec-WebSocket-Key")))
		conn.Close()
	})
	hs := httptest.NewServer(mux)
	proxy := testutil.NewProxy(t, hs.Listener.Addr().String())

	ctl := http.NewServeMux()
	ok := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	ctl.HandleFunc("POST /publish", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		topic := r.URL.Query().Get("topic")
		for i := range n {
			if _, err := srv.Publish(r.Context(), topic, fmt.Appendf(nil, "m%d", i+1)); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
		}
		ok(w, map[string]int{"published": n})
	})
	ctl.HandleFunc("POST /cut", func(w http.ResponseWriter, r *http.Request) { proxy.Cut(); ok(w, true) })
	ctl.HandleFunc("POST /block", func(w http.ResponseWriter, r *http.Request) { proxy.Block(true); ok(w, true) })
	ctl.HandleFunc("POST /unblock", func(w http.ResponseWriter, r *http.Request) { proxy.Block(false); ok(w, true) })
	ctl.HandleFunc("POST /stats", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		ok(w, map[string]any{"lastEventIDs": lastEventIDs})
	})
	cs := httptest.NewServer(ctl)
	t.Cleanup(func() {
		cs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return "http://" + proxy.Addr(), cs.URL
}

// TestEventSourceResume drives /events with the npm eventsource client.
func TestEventSourceResume(t *testing.T) {
	heraldURL, controlURL := nodeFixture(t, herald.Options{HistorySize: 3})
	out := testutil.Node(t, 90*time.Second, "sse_resume.mjs", map[string]string{"HERALD_URL": heraldURL, "CONTROL_URL": controlURL})
	t.Logf("node: %s", out)
}

// TestHeraldJSTransports drives herald.js in Node over each transport.
func TestHeraldJSTransports(t *testing.T) {
	heraldURL, controlURL := nodeFixture(t, herald.Options{})
	out := testutil.Node(t, 120*time.Second, "sse_herald_client.mjs", map[string]string{
		"HERALD_URL": heraldURL, "CONTROL_URL": controlURL,
		"HERALD_JS": filepath.Join(testutil.Root(t), "web", "herald.js"),
	})
	t.Logf("node: %s", out)
}
