package demo

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/heraldhq/herald"
)

// MuxConfig says what NewMux serves.
type MuxConfig struct {
	// Server is mounted at WSPath. Its metrics are served at /metrics.
	Server *herald.Server
	// WSPath is where clients connect; default "/ws".
	WSPath string
	// EventsPath serves Server-Sent Events; StreamPath and PollPath the
	// native protocol over HTTP streaming and long polling. Defaults
	// "/events", "/stream", "/poll".
	EventsPath, StreamPath, PollPath string
	// Demo serves the demo pages: at "/" or, when Static is set, at
	// "/demo/".
	Demo bool
	// Static is the user's own web app, served at "/". Directories
	// without an index.html and names starting with "." are not served.
	Static fs.FS
	// Draining reports whether the server is shutting down; /healthz
	// then answers 503 so that load balancers stop sending clients.
	Draining func() bool
}

// DemoPrefix is where the demo pages move when the user serves their own
// files at "/".
const DemoPrefix = "/demo/"

// NewMux lays out everything the herald binary serves on one HTTP
// listener:
//
//	WSPath    the WebSocket endpoint (every protocol, chosen by subprotocol)
//	/events   Server-Sent Events (EventsPath)
//	/stream   the native protocol over HTTP streaming + POST (StreamPath)
//	/poll     the native protocol over long polling + POST (PollPath)
//	/herald.js, /herald.d.ts  the JavaScript client
//	/healthz  {"status":"ok","connections":N,"cluster":{...}}; 503 while draining
//	/readyz   200 when the node should get clients; 503 while draining or cut off from its cluster
//	/metrics  Prometheus metrics
//	/         the demo, or the user's static files with the demo at /demo/
//
// The binary and the browser tests both use it, so the pages are tested
// as they are served.
func NewMux(c MuxConfig) *http.ServeMux {
	wsPath := c.WSPath
	if wsPath == "" {
		wsPath = "/ws"
	}
	mux := http.NewServeMux()
	// GET, like the routes below: a method-less pattern would conflict
	// with "GET /". A WebSocket handshake is always a GET anyway.
	mux.Handle("GET "+wsPath, c.Server)
	paths := c.paths(wsPath)
	// Method by method, like the routes below: a method-less pattern
	// would conflict with "GET /".
	for _, m := range []string{"GET", "OPTIONS"} {
		mux.Handle(m+" "+paths.Events, c.Server.EventsHandler())
	}
	for _, m := range []string{"GET", "POST", "DELETE", "OPTIONS"} {
		mux.Handle(m+" "+paths.Stream, c.Server.StreamHandler())
		mux.Handle(m+" "+paths.Poll, c.Server.PollHandler())
	}
	mux.Handle("GET /herald.js", herald.ClientJS())
	mux.Handle("GET /herald.d.ts", herald.ClientJS())
	mux.Handle("GET /healthz", healthHandler(c.Server, c.Draining))
	mux.Handle("GET /readyz", readyHandler(c.Server, c.Draining))
	mux.Handle("GET /metrics", c.Server.MetricsHandler())

	demoAt := "/"
	if c.Static != nil {
		mux.Handle("GET /", http.FileServerFS(hidden{c.Static}))
		demoAt = DemoPrefix
	}
	if c.Demo {
		mux.Handle("GET "+demoAt, demoHandler(demoAt, paths))
	}
	return mux
}

// healthHandler reports liveness and the connection count. HEAD works
// too: GET patterns match it.
func healthHandler(srv *herald.Server, draining func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, code := "ok", http.StatusOK
		if draining != nil && draining() {
			status, code = "shutting down", http.StatusServiceUnavailable
		}
		var cl *herald.ClusterStatus
		if st, ok := srv.ClusterStatus(); ok {
			cl = &st
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(struct {
			Status      string                `json:"status"`
			Connections int                   `json:"connections"`
			Cluster     *herald.ClusterStatus `json:"cluster,omitempty"`
		}{status, srv.Connections(), cl})
	})
}

// readyHandler is the readiness check: 200 {"ready":true} when the node
// should be sent clients, 503 with the reason while it drains or, in a
// cluster, while it is not connected to NATS or routed to any peer.
// /healthz stays 200 then: the process is alive, just not useful.
func readyHandler(srv *herald.Server, draining func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := srv.Ready()
		if err == nil && draining != nil && draining() {
			err = herald.ErrServerClosed
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		body := struct {
			Ready  bool   `json:"ready"`
			Reason string `json:"reason,omitempty"`
		}{Ready: err == nil}
		if err != nil {
			body.Reason = err.Error()
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(body)
	})
}

// contentSecurityPolicy confines the demo pages to their own origin:
// scripts, styles and sockets come from Herald itself and nowhere else.
// 'self' covers ws: and wss: to the same host (CSP level 3).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Paths are the endpoints a page connects to.
type Paths struct {
	WS, Events, Stream, Poll string
}

func (c MuxConfig) paths(wsPath string) Paths {
	p := Paths{WS: wsPath, Events: c.EventsPath, Stream: c.StreamPath, Poll: c.PollPath}
	if p.Events == "" {
		p.Events = "/events"
	}
	if p.Stream == "" {
		p.Stream = "/stream"
	}
	if p.Poll == "" {
		p.Poll = "/poll"
	}
	return p
}

// demoHandler serves the embedded pages under prefix, plus config.js,
// which tells the pages where the endpoints are (they can be configured,
// and the files are static), and herald.js beside them.
func demoHandler(prefix string, p Paths) http.Handler {
	config := []byte("// Generated by the Herald server.\n")
	for _, kv := range [][2]string{{"wsPath", p.WS}, {"eventsPath", p.Events}, {"streamPath", p.Stream}, {"pollPath", p.Poll}} {
		v, _ := json.Marshal(kv[1]) // a string always encodes
		config = append(config, "export const "+kv[0]+" = "+string(v)+";\n"...)
	}
	files := http.FileServerFS(Files())
	client := herald.ClientJS()
	return http.StripPrefix(strings.TrimSuffix(prefix, "/"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// Embedded files carry no modification time, so there is nothing
		// to revalidate against: always fetch, they are small.
		h.Set("Cache-Control", "no-cache")
		switch r.URL.Path {
		case "/config.js":
			h.Set("Content-Type", "text/javascript; charset=utf-8")
			w.Write(config)
			return
		case "/herald.js", "/herald.d.ts":
			client.ServeHTTP(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}))
}

// hidden serves a user's directory without listing it: a directory
// without index.html, and any name starting with "." (.git, .env), is
// reported as not existing.
type hidden struct{ fsys fs.FS }

func (h hidden) Open(name string) (fs.File, error) {
	for elem := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(elem, ".") && elem != "." {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
	}
	f, err := h.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		if _, err := fs.Stat(h.fsys, path.Join(name, "index.html")); err != nil {
			f.Close()
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
			}
			return nil, err
		}
	}
	return f, nil
}
