// Package sse serves Server-Sent Events: GET /events?topic=a/b&topic=c/#
// answers with a text/event-stream of the topics' messages.
//
// Every event's id is a resume token (internal/position) holding the
// client's position on every topic it follows, so the browser's automatic
// reconnect, which sends the last id as Last-Event-ID, resumes from the
// router's history with no gap; what history no longer holds is reported
// by a "missed" event before the replay. The stream is a raw session of
// the core: once the response has started, an idle stream costs no
// goroutine (core.ServeStream).
//
// Events:
//
//	(message)  data: {"topic","seq","epoch","data",...}   a published message
//	missed     data: {"topic","epoch","from","to","reset"?} messages history cannot give
//	ready      data: {"topics":[...],"stream":ID}          subscribed; id holds every position
//	expired    data: {"reason":"token expired"}            the credentials expired: the stream ends
//
// POST /events?stream=ID with "Authorization: Bearer <token>" refreshes
// the credentials of a live stream in band (refresh.go).
//
// The stream also carries "retry:" (the reconnection delay, jittered per
// stream so a restarted server is not met by every client at once) and a
// ":" comment as heart-beat when nothing else was sent for a while.
package sse

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/httpx"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/position"
	"github.com/heraldhq/herald/internal/topic"
)

// Defaults of Config.
const (
	DefaultRetry     = 2 * time.Second
	DefaultMaxTopics = 32
)

// Config configures a Handler.
type Config struct {
	Core *core.Core
	// Heartbeat is the longest a stream stays silent; default the core's
	// PingInterval.
	Heartbeat time.Duration
	// Retry is the base reconnection delay; each stream is told a delay
	// between Retry and twice Retry. Default DefaultRetry.
	Retry time.Duration
	// MaxTopics bounds the topic parameters of one request.
	MaxTopics int
}

// Handler serves SSE streams.
type Handler struct {
	cfg     Config
	streams sync.Map // session id → *stream, for refresh (refresh.go)
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = cfg.Core.Config().PingInterval
	}
	if cfg.Retry <= 0 {
		cfg.Retry = DefaultRetry
	}
	if cfg.MaxTopics <= 0 {
		cfg.MaxTopics = DefaultMaxTopics
	}
	return &Handler{cfg: cfg}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := h.cfg.Core
	allowed := c.Config().AllowedOrigins
	if r.Method == http.MethodOptions {
		httpx.Preflight(w, r, allowed, "GET, POST")
		return
	}
	if r.Method == http.MethodPost {
		h.refresh(w, r) // refresh.go
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		httpx.Error(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET with topic parameters")
		return
	}
	access := httpx.Check(w, r, allowed)
	if access == httpx.Denied {
		c.Rejected()
		httpx.Error(w, http.StatusForbidden, "origin_not_allowed", "origin "+strconv.Quote(r.Header.Get("Origin"))+" is not allowed")
		return
	}
	filters, err := h.filters(r)
	if err != nil {
		c.Rejected()
		httpx.Error(w, http.StatusBadRequest, "bad_topic", err.Error())
		return
	}
	since, malformed := resumePoint(r)
	id, ok := httpx.Connect(r.Context(), w, r, c, access, "sse", "sse")
	if !ok {
		return
	}
	// Authorize before the response starts, so a refusal is a status.
	sessionID := core.NewSessionID()
	scope := &core.Scope{SessionID: sessionID, Identity: id, RemoteAddr: c.ClientAddr(r), Protocol: "sse", Transport: "sse"}
	scope.SetHeader(r.Header)
	for _, f := range filters {
		if err := c.Authorize(r.Context(), scope, core.ActionSubscribe, f); err != nil {
			c.Rejected()
			httpx.Error(w, http.StatusForbidden, "forbidden", "subscribe to "+strconv.Quote(f)+": "+err.Error())
			return
		}
	}
	header := http.Header{}
	for k, vs := range w.Header() { // the CORS headers Check set
		header[k] = vs
	}
	header.Set("Content-Type", "text/event-stream; charset=utf-8")
	header.Set("Cache-Control", "no-store")
	header.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	header.Set("X-Content-Type-Options", "nosniff")

	st := &stream{h: h, filters: filters, heartbeat: max(int64(h.cfg.Heartbeat/time.Second), 1)}
	retry := h.cfg.Retry + rand.N(h.cfg.Retry+1)
	c.ServeStream(w, r, core.Stream{
		SessionID: sessionID, Header: header, Protocol: "sse", Transport: "sse", Identity: id,
		Adapter: adapter{st},
	}, func(*core.Session) { st.start(since, malformed, retry) })
}

// adapter opens the stream prepared for one request.
type adapter struct{ st *stream }

func (adapter) Protocols() []string { return nil }

func (a adapter) Open(s *core.Session) core.Protocol {
	a.st.s = s
	a.st.h.streams.Store(s.Scope.SessionID, a.st)
	a.st.lastSend.Store(time.Now().Unix())
	return a.st
}

// filters reads the topic parameters: valid filters, without repeats.
func (h *Handler) filters(r *http.Request) ([]string, error) {
	var out []string
	for _, f := range r.URL.Query()["topic"] {
		if err := topic.ValidFilter(f); err != nil {
			return nil, err
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	switch {
	case len(out) == 0:
		return nil, errNoTopic
	case len(out) > h.cfg.MaxTopics:
		return nil, errTooManyTopics
	}
	return out, nil
}

// resumePoint reads where the client resumes from: the Last-Event-ID
// header (a browser's reconnect), or the "since" query parameter (a
// token handed over from another transport), or "lastEventId" (what
// EventSource polyfills send). A value that is not a valid token is a
// fresh start that the stream reports as missed messages.
func resumePoint(r *http.Request) (since map[string]message.Position, malformed bool) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("since")
	}
	if v == "" {
		v = r.URL.Query().Get("lastEventId")
	}
	if v == "" {
		return nil, false
	}
	pos, err := position.Decode(v)
	if err != nil {
		return nil, true
	}
	return pos, false
}
