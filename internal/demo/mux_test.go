package demo

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/heraldhq/herald"
)

func newTestServer(t *testing.T) *herald.Server {
	t.Helper()
	srv := herald.New(herald.Options{})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}

// do serves one request through h and returns the response.
func do(h http.Handler, method, target string) *http.Response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	var draining atomic.Bool
	mux := NewMux(MuxConfig{Server: newTestServer(t), Draining: draining.Load})
	for _, tt := range []struct {
		draining   bool
		wantCode   int
		wantStatus string
	}{
		{false, http.StatusOK, "ok"},
		{true, http.StatusServiceUnavailable, "shutting down"},
	} {
		draining.Store(tt.draining)
		r := do(mux, "GET", "/healthz")
		var h struct {
			Status      string `json:"status"`
			Connections *int   `json:"connections"`
		}
		if err := json.Unmarshal([]byte(body(t, r)), &h); err != nil {
			t.Fatal(err)
		}
		if r.StatusCode != tt.wantCode || h.Status != tt.wantStatus || h.Connections == nil || *h.Connections != 0 ||
			r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("draining=%v: %d %s %+v", tt.draining, r.StatusCode, r.Header.Get("Content-Type"), h)
		}
	}
}

func TestMuxRoutes(t *testing.T) {
	t.Parallel()
	static := fstest.MapFS{
		"index.html":       {Data: []byte("my app")},
		"docs/index.html":  {Data: []byte("docs")},
		"assets/app.js":    {Data: []byte("app()")},
		".env":             {Data: []byte("SECRET=1")},
		".git/config":      {Data: []byte("[core]")},
		"assets/.hidden":   {Data: []byte("x")},
		"empty/readme.txt": {Data: []byte("no index here")},
	}
	srv := newTestServer(t)
	demoAtRoot := NewMux(MuxConfig{Server: srv, Demo: true, WSPath: "/realtime"})
	withStatic := NewMux(MuxConfig{Server: srv, Demo: true, Static: static})
	noDemo := NewMux(MuxConfig{Server: srv})

	tests := []struct {
		name     string
		mux      http.Handler
		method   string
		target   string
		wantCode int
		wantBody string // substring
		wantType string // prefix of Content-Type
	}{
		{"LED page at /", demoAtRoot, "GET", "/", 200, `id="responseText"`, "text/html"},
		{"chat page", demoAtRoot, "GET", "/chat.html", 200, `id="chat"`, "text/html"},
		{"script", demoAtRoot, "GET", "/led.js", 200, `from "./herald.js"`, "text/javascript"},
		{"client beside the pages", demoAtRoot, "GET", "/herald.js", 200, "export function connect", "text/javascript"},
		{"client at the root", withStatic, "GET", "/herald.js", 200, "export function connect", "text/javascript"},
		{"client in the moved demo", withStatic, "GET", "/demo/herald.js", 200, "export function connect", "text/javascript"},
		{"client types", demoAtRoot, "GET", "/herald.d.ts", 200, "export function connect", "application/typescript"},
		{"config tells the pages the fallback paths", demoAtRoot, "GET", "/config.js", 200, `export const pollPath = "/poll";`, "text/javascript"},
		{"events", demoAtRoot, "GET", "/events", 400, "bad_topic", "application/json"},
		{"long polling opens a session", demoAtRoot, "POST", "/poll", 201, `"session"`, "application/json"},
		{"streaming opens a session", demoAtRoot, "POST", "/stream", 201, `"session"`, "application/json"},
		{"unknown poll session", demoAtRoot, "GET", "/poll?session=x", 404, "session_not_found", "application/json"},
		{"preflight", demoAtRoot, "OPTIONS", "/poll", 204, "", ""},
		{"style", demoAtRoot, "GET", "/style.css", 200, "--accent", "text/css"},
		{"config tells the pages the ws path", demoAtRoot, "GET", "/config.js", 200, `export const wsPath = "/realtime";`, "text/javascript"},
		{"HEAD works", demoAtRoot, "HEAD", "/", 200, "", "text/html"},
		{"metrics", demoAtRoot, "GET", "/metrics", 200, "herald_connections", ""},
		{"plain GET of the ws path is no handshake", demoAtRoot, "GET", "/realtime", 400, "", ""},
		{"POST to the ws path", demoAtRoot, "POST", "/realtime", 405, "", ""},
		{"unknown file", demoAtRoot, "GET", "/nope.html", 404, "", ""},

		{"user's index at /", withStatic, "GET", "/", 200, "my app", "text/html"},
		{"user's subdirectory index", withStatic, "GET", "/docs/", 200, "docs", ""},
		{"user's file", withStatic, "GET", "/assets/app.js", 200, "app()", ""},
		{"no listing", withStatic, "GET", "/empty/", 404, "", ""},
		{"no listing without the slash", withStatic, "GET", "/assets", 404, "", ""},
		{"dot file", withStatic, "GET", "/.env", 404, "", ""},
		{"dot directory", withStatic, "GET", "/.git/config", 404, "", ""},
		{"nested dot file", withStatic, "GET", "/assets/.hidden", 404, "", ""},
		{"demo moved", withStatic, "GET", "/demo/", 200, `id="heraldNotification"`, "text/html"},
		{"demo config", withStatic, "GET", "/demo/config.js", 200, `"/ws"`, "text/javascript"},
		{"demo chat", withStatic, "GET", "/demo/chat.html", 200, "chat.js", "text/html"},
		{"demo without slash", withStatic, "GET", "/demo", 307, "/demo/", ""},

		{"nothing at / without demo or static", noDemo, "GET", "/", 404, "", ""},
		{"health without demo", noDemo, "GET", "/healthz", 200, `"status":"ok"`, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := do(tt.mux, tt.method, tt.target)
			b := body(t, r)
			if r.StatusCode != tt.wantCode || !strings.Contains(b, tt.wantBody) || !strings.HasPrefix(r.Header.Get("Content-Type"), tt.wantType) {
				t.Fatalf("%s %s = %d %q %.200q; want %d %q containing %q",
					tt.method, tt.target, r.StatusCode, r.Header.Get("Content-Type"), b, tt.wantCode, tt.wantType, tt.wantBody)
			}
		})
	}
}

func TestDemoHeaders(t *testing.T) {
	t.Parallel()
	r := do(NewMux(MuxConfig{Server: newTestServer(t), Demo: true}), "GET", "/")
	for k, want := range map[string]string{
		"Content-Security-Policy": "connect-src 'self'",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-cache",
	} {
		if !strings.Contains(r.Header.Get(k), want) {
			t.Errorf("%s: %q, want %q in it", k, r.Header.Get(k), want)
		}
	}
}

// TestFiles checks that the pages keep the element ids the scripts, the
// tests and later adapters (STOMP, MQTT panes) rely on, and load nothing
// from elsewhere.
func TestFiles(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		"index.html": {`id="message"`, `id="responseText"`, `id="heraldNotification"`, `id="stompNotification"`,
			`id="mqttNotification"`, `id="debug"`, `href="chat.html"`, `src="led.js"`, `type="module"`, `src="vendor/stomp.umd.min.js"`},
		"chat.html":               {`id="chat"`, `id="username"`, `id="phrase"`, `src="chat.js"`},
		"chat.js":                 {`"chat"`, "textContent"},
		"led.js":                  {`from "./herald.js"`, `"wsone/notify"`, `from "./stomp.js"`},
		"stomp.js":                {`"/topic/wsone.notify"`, "7.5.0"},
		"vendor/stomp.umd.min.js": {"StompJs"},
		"vendor/stompjs.LICENSE":  {"Apache License"},
		"style.css":               {"prefers-color-scheme"},
	}
	files := Files()
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		s := string(b)
		for _, w := range want[name] {
			if !strings.Contains(s, w) {
				t.Errorf("%s lacks %s", name, w)
			}
		}
		delete(want, name)
		for _, external := range []string{"http://", "https://", "//cdn", "innerHTML"} {
			// Vendored libraries and their licences name their home pages
			// in messages and legal text; they load nothing from there.
			if strings.HasPrefix(name, "vendor/") && strings.HasPrefix(external, "http") {
				continue
			}
			if strings.Contains(s, external) && !strings.HasPrefix(name, "favicon") {
				t.Errorf("%s contains %q: the demo must not load from elsewhere or render markup from messages", name, external)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range want {
		t.Errorf("%s is not embedded", name)
	}
}
