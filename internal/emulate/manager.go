// Package emulate carries a bidirectional protocol (Herald's JSON-RPC)
// over plain HTTP requests for clients that cannot open a WebSocket:
// long polling (GET held until messages arrive or a timeout, answered
// with a batch) and HTTP streaming (one long GET whose body is an SSE
// stream), each paired with POST for the client's messages.
//
// A session is a virtual core session (core.OpenVirtual): the protocol,
// its subscriptions and mailbox are the same as over WebSocket. Its
// outbound messages go to a numbered log in a store.Sessions, not into
// any HTTP handler, so the next poll can be served by whichever request
// (and, with a shared store, whichever node) arrives; the log, the
// client's deduplication window, its subscriptions and positions live
// there.
//
// # Requests
//
//	POST   {path}                      open a session → 201 {"session","pollTimeout","sessionTimeout"}
//	GET    /poll?session=ID&ack=N      long poll → {"seq":F,"messages":[...]} (+ "closed" at the end)
//	GET    /stream?session=ID          SSE: each message an event with id = its number
//	POST   {path}?session=ID&seq=K     the client's JSON-RPC messages (K: deduplication), 202
//	DELETE {path}?session=ID           end the session, 204
//
// Every message has a number (1, 2, ...). A message stays in the log until
// the client acknowledges it (ack=N on any request, or Last-Event-ID when
// a stream reconnects): a response lost on the way is sent again, and the
// client drops numbers it has seen (at-least-once, deduplicated). The log
// is bounded by the queue limits; a client that does not acknowledge
// meets the slow-consumer policy.
package emulate

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/httpx"
	"github.com/heraldhq/herald/internal/store"
)

// Config configures a Manager. Zero fields get defaults from the core.
type Config struct {
	Core     *core.Core
	Adapter  core.Adapter // the protocol sessions speak
	Protocol string       // its name, for Scope.Protocol
	Store    store.Sessions

	PollTimeout    time.Duration   // longest a poll is held; default the core's PingInterval
	SessionTimeout time.Duration   // a session without requests this long ends; default the core's IdleTimeout
	Heartbeat      time.Duration   // longest a stream stays silent; default PingInterval
	Retry          time.Duration   // streams' reconnection delay (jittered up to twice); default 1s
	MaxBatch       int             // messages per poll response; default 256
	MaxBatchBytes  int             // bytes per poll response (at least one message); default 1 MiB
	MaxPost        int             // bytes per POST; default the core's MaxMessage
	Log            store.LogLimits // per session; default the core's queue limits
	Now            func() time.Time
}

// Manager serves the emulated sessions of one core.
type Manager struct {
	cfg Config

	mu        sync.Mutex
	live      map[string]*session
	gone      tombs
	lastPrune atomic.Int64 // unix second of the last pruning of tombstones
	takeMu    sync.Mutex   // serializes takeovers (takeover.go)
}

// New returns a Manager.
func New(cfg Config) *Manager {
	cc := cfg.Core.Config()
	if cfg.Store == nil {
		cfg.Store = store.NewMemorySessions()
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = cc.PingInterval
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = cc.IdleTimeout
	}
	// A held poll must end well before the session would expire.
	cfg.PollTimeout = min(cfg.PollTimeout, cfg.SessionTimeout/2)
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = cc.PingInterval
	}
	if cfg.Retry <= 0 {
		cfg.Retry = time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = 1 << 20
	}
	if cfg.MaxPost <= 0 {
		cfg.MaxPost = cc.MaxMessage
	}
	if cfg.Log.Messages <= 0 {
		cfg.Log.Messages = cc.Queue.Messages
	}
	if cfg.Log.Bytes <= 0 {
		cfg.Log.Bytes = cc.Queue.Bytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Manager{cfg: cfg, live: make(map[string]*session), gone: tombs{byID: map[string]tomb{}}}
	m.startDurable()
	return m
}

// Poll is the long-polling endpoint; Stream the HTTP-streaming one. They
// share the sessions: a client may switch between them.
func (m *Manager) Poll() http.Handler   { return endpoint{m, false} }
func (m *Manager) Stream() http.Handler { return endpoint{m, true} }

// Sessions reports how many sessions are live.
func (m *Manager) Sessions() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.live)
}

// Expire ends every session that has had no request for SessionTimeout
// at now and no poll or stream in progress. Each session's ticker calls
// its part every second; tests call it with an injected time.
func (m *Manager) Expire(now time.Time) {
	m.mu.Lock()
	list := make([]*session, 0, len(m.live))
	for _, ss := range m.live {
		list = append(list, ss)
	}
	m.mu.Unlock()
	for _, ss := range list {
		ss.expireIfIdle(now)
	}
}

type endpoint struct {
	m         *Manager
	streaming bool
}

func (e endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := e.m
	c := m.cfg.Core
	allowed := c.Config().AllowedOrigins
	if r.Method == http.MethodOptions {
		httpx.Preflight(w, r, allowed, "GET, POST, DELETE")
		return
	}
	access := httpx.Check(w, r, allowed)
	if access == httpx.Denied {
		c.Rejected()
		httpx.Error(w, http.StatusForbidden, "origin_not_allowed", "origin "+strconv.Quote(r.Header.Get("Origin"))+" is not allowed")
		return
	}
	id := r.URL.Query().Get("session")
	if id == "" {
		if r.Method == http.MethodPost {
			m.open(w, r, access, e.transport())
			return
		}
		httpx.Error(w, http.StatusBadRequest, "no_session", "session parameter missing: POST without one to open a session")
		return
	}
	switch r.Method {
	case http.MethodGet:
		if e.streaming {
			m.stream(w, r, id)
		} else {
			m.poll(w, r, id)
		}
	case http.MethodPost:
		m.post(w, r, id)
	case http.MethodDelete:
		m.end(w, r, id)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE, OPTIONS")
		httpx.Error(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not supported here")
	}
}

func (e endpoint) transport() string {
	if e.streaming {
		return "stream"
	}
	return "longpoll"
}

// open starts a session for an authenticated client.
func (m *Manager) open(w http.ResponseWriter, r *http.Request, access httpx.Access, transport string) {
	c := m.cfg.Core
	id, ok := httpx.Connect(r.Context(), w, r, c, access, m.cfg.Protocol, transport)
	if !ok {
		return
	}
	ss := &session{m: m, id: newSecret(), lastSeen: m.cfg.Now()}
	if err := m.cfg.Store.Create(ss.id, m.cfg.Log, ss.lastSeen); err != nil {
		httpx.Error(w, http.StatusInternalServerError, "internal", "could not create the session")
		return
	}
	m.mu.Lock()
	m.live[ss.id] = ss
	m.mu.Unlock()
	scope := core.Scope{Identity: id, RemoteAddr: c.ClientAddr(r), Protocol: m.cfg.Protocol, Transport: transport}
	scope.SetHeader(httpx.ConnectHeader(r, access))
	cs, err := c.OpenVirtual(scope, wrapped{m.cfg.Adapter, ss}, ss)
	if err != nil {
		m.refuseOpen(w, ss, err)
		return
	}
	ss.mu.Lock()
	ss.cs = cs
	ss.mu.Unlock()
	if !m.keepOwner(w, r.Context(), ss.id, id) {
		cs.CloseWith(core.CloseInternalError, "the session store failed")
		return
	}
	body := []byte(`{"session":"` + ss.id + `","pollTimeout":` + strconv.FormatInt(m.cfg.PollTimeout.Milliseconds(), 10) +
		`,"sessionTimeout":` + strconv.FormatInt(m.cfg.SessionTimeout.Milliseconds(), 10) + "}\n")
	httpx.JSON(w, http.StatusCreated, body)
}

// lookup finds a live session or answers 404 (never existed, or
// forgotten) or 410 (ended: expired or closed). An ended session whose
// log still holds messages is returned too, so a poll can fetch them
// with the end.
func (m *Manager) lookup(w http.ResponseWriter, r *http.Request, id string) *session {
	m.mu.Lock()
	ss := m.live[id]
	t, gone := m.gone.byID[id]
	m.mu.Unlock()
	if ss != nil {
		return ss
	}
	if gone && t.ss != nil {
		return t.ss
	}
	if gone {
		writeGone(w, t)
		return nil
	}
	return m.takeover(w, r, id) // kept by a previous run, or 404
}

// writeGone answers 410 for an ended session: the client opens a new
// one and resumes from its positions.
func writeGone(w http.ResponseWriter, t tomb) {
	code := "session_closed"
	if t.expired {
		code = "session_expired"
	}
	b := []byte(`{"error":{"code":"` + code + `","message":"the session has ended; open a new one and resume from your positions"},"closed":` + closeJSON(t.code, t.reason) + "}\n")
	httpx.JSON(w, http.StatusGone, b)
}

// ended moves a session from the live set to the tombstones.
func (m *Manager) ended(ss *session, code uint16, reason string, expired, keep bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live[ss.id] == ss {
		delete(m.live, ss.id)
	}
	t := tomb{code: code, reason: reason, expired: expired, at: m.cfg.Now()}
	if keep {
		t.ss = ss // its log may still hold messages for one last poll
	}
	for _, old := range m.gone.add(ss.id, t) {
		m.cfg.Store.Delete(old)
	}
}

// prune releases the logs of sessions that ended more than the session
// timeout ago (their clients have moved on) and forgets tombstones after
// ten timeouts. Each session's tick calls it; it works once a second.
func (m *Manager) prune(now time.Time) {
	sec := now.Unix()
	if old := m.lastPrune.Load(); old == sec || !m.lastPrune.CompareAndSwap(old, sec) {
		return
	}
	var drop []string
	m.mu.Lock()
	// Tombstones are in the order sessions ended.
	for len(m.gone.order) > 0 {
		id := m.gone.order[0]
		t, ok := m.gone.byID[id]
		if ok && now.Sub(t.at) <= 10*m.cfg.SessionTimeout {
			break
		}
		if ok {
			delete(m.gone.byID, id)
			if t.ss != nil {
				drop = append(drop, id)
			}
		}
		m.gone.order = m.gone.order[1:]
	}
	for _, id := range m.gone.order {
		t := m.gone.byID[id]
		if now.Sub(t.at) <= m.cfg.SessionTimeout {
			break
		}
		if t.ss != nil {
			t.ss = nil
			m.gone.byID[id] = t
			drop = append(drop, id)
		}
	}
	m.mu.Unlock()
	for _, id := range drop {
		m.cfg.Store.Delete(id)
	}
	m.expireStored(now)
}

// forget drops the log of an ended session once its end was delivered.
func (m *Manager) forget(ss *session) {
	m.mu.Lock()
	if t, ok := m.gone.byID[ss.id]; ok && t.ss == ss {
		t.ss = nil
		m.gone.byID[ss.id] = t
	}
	m.mu.Unlock()
	m.cfg.Store.Delete(ss.id)
}

// tombs remembers ended sessions for a while, so their clients get 410
// (ended: resume elsewhere) rather than 404; bounded in number.
type tombs struct {
	byID  map[string]tomb
	order []string
}

type tomb struct {
	code    uint16
	reason  string
	expired bool
	at      time.Time
	ss      *session // set while its log may still be fetched
}

const maxTombs = 4096

// add records a tombstone and returns the ids of those it pushed out.
func (t *tombs) add(id string, v tomb) []string {
	t.byID[id] = v
	t.order = append(t.order, id)
	var dropped []string
	for len(t.order) > maxTombs {
		old := t.order[0]
		t.order = t.order[1:]
		delete(t.byID, old)
		dropped = append(dropped, old)
	}
	return dropped
}

// newSecret returns a session id: 128 random bits. The id is the
// session's capability (whoever has it may poll and post), so it is not
// the core's session id, which handlers see and may show.
func newSecret() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func closeJSON(code uint16, reason string) string {
	r, _ := json.Marshal(reason)
	return `{"code":` + strconv.Itoa(int(code)) + `,"reason":` + string(r) + `}`
}
