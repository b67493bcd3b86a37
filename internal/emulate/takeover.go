package emulate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/httpx"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/store"
	"github.com/heraldhq/herald/internal/topic"
	"github.com/heraldhq/herald/internal/wsframe"
)

// durableStore is what a Sessions store that outlives the process offers
// (store.FileSessions). With one, sessions survive a restart: a request
// for a session this manager does not hold takes it over from the store.
//
// The guarantee (docs/durability.md): a client is shown only durable
// message numbers (a poll answers after Sync, a stream sends a message
// once Durable covers it), so after a crash its numbers and
// acknowledgements stay valid; a POST is answered 202 (or "duplicate")
// only once its number is durably applied; a 201 is sent once the
// session is durable.
type durableStore interface {
	Sync(ctx context.Context) error
	Applied(id string, seq uint64) error
	IsApplied(id string, seq uint64) bool
	SetOwner(id string, owner []byte) error
	Owner(id string) ([]byte, error)
	Durable(id string) uint64
	OnDurable(fn func(id string))
	ExpireIdle(before time.Time, keep func(id string) bool) []string
}

func (m *Manager) durable() (durableStore, bool) {
	d, ok := m.cfg.Store.(durableStore)
	return d, ok
}

// startDurable hooks streams to the store's commits and drops the
// sessions that expired while the server was down.
func (m *Manager) startDurable() {
	d, ok := m.durable()
	if !ok {
		return
	}
	d.OnDurable(m.pushDurable)
	d.ExpireIdle(m.cfg.Now().Add(-m.cfg.SessionTimeout), nil)
}

// expireStored drops stored sessions idle past the session timeout that
// this manager does not serve (their clients never came back).
func (m *Manager) expireStored(now time.Time) {
	d, ok := m.durable()
	if !ok {
		return
	}
	d.ExpireIdle(now.Add(-m.cfg.SessionTimeout), func(id string) bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		_, live := m.live[id]
		_, gone := m.gone.byID[id]
		return live || gone
	})
}

// pushDurable sends a stream what became durable. It runs on the
// store's commit goroutine.
func (m *Manager) pushDurable(id string) {
	m.mu.Lock()
	ss := m.live[id]
	m.mu.Unlock()
	if ss == nil {
		return
	}
	ss.mu.Lock()
	ss.pushLocked()
	ss.mu.Unlock()
}

// visible is the highest message number a client may be shown.
func (m *Manager) visible(id string) uint64 {
	if d, ok := m.durable(); ok {
		return d.Durable(id)
	}
	return ^uint64(0)
}

// sync waits until what the store was given is durable; it answers 503
// and returns false if it cannot be.
func (m *Manager) sync(w http.ResponseWriter, ctx context.Context) bool {
	d, ok := m.durable()
	if !ok {
		return true
	}
	if err := d.Sync(ctx); err != nil {
		httpx.Error(w, http.StatusServiceUnavailable, "store_unavailable", "the session store could not write: "+err.Error())
		return false
	}
	return true
}

// applied records that the POST numbered seq has run, durably.
func (m *Manager) applied(w http.ResponseWriter, ctx context.Context, id string, seq uint64) bool {
	if d, ok := m.durable(); ok && seq > 0 {
		d.Applied(id, seq)
	}
	return m.sync(w, ctx)
}

// duplicate checks, for a POST whose number was accepted before, that
// the first attempt was applied and is durable; while it is not (it is
// still running, or the server stopped under it) the client is told to
// retry (503), not that it is done.
func (m *Manager) duplicate(w http.ResponseWriter, ctx context.Context, id string, seq uint64) bool {
	d, ok := m.durable()
	if !ok {
		return true
	}
	if !d.IsApplied(id, seq) {
		w.Header().Set("Retry-After", "1")
		httpx.Error(w, http.StatusServiceUnavailable, "in_progress", "a POST with this number is still being applied: retry")
		return false
	}
	return m.sync(w, ctx)
}

// owner is how a session's identity is kept for a takeover.
type owner struct {
	Subject     string            `json:"subject,omitempty"`
	Claims      map[string]any    `json:"claims,omitempty"`
	Expires     time.Time         `json:"expires,omitzero"`
	Permissions *auth.Permissions `json:"permissions,omitempty"`
}

// keepOwner stores who opened the session and waits until the session
// is durable, so the session a 201 names survives a crash.
func (m *Manager) keepOwner(w http.ResponseWriter, ctx context.Context, id string, who core.Identity) bool {
	d, ok := m.durable()
	if !ok {
		return true
	}
	b, err := json.Marshal(owner{who.Subject, who.Claims, who.Expires, who.Permissions})
	if err == nil {
		d.SetOwner(id, b)
	}
	return m.sync(w, ctx)
}

// shutdownReason is the close reason the core gives its sessions when
// the server stops.
const shutdownReason = "server shutting down"

// suspend keeps a session in a durable store when the server stops, for
// the next run to take over: it leaves the live set without ending (a
// held poll answers what it has without "closed", a stream closes
// without its close event, and the clients retry). It reports whether
// it did.
func (m *Manager) suspend(ss *session, code uint16, reason string) bool {
	if _, ok := m.durable(); !ok || code != core.CloseGoingAway || reason != shutdownReason {
		return false
	}
	m.mu.Lock()
	if m.live[ss.id] == ss {
		delete(m.live, ss.id)
	}
	m.mu.Unlock()
	ss.mu.Lock()
	if ss.replaced != nil {
		close(ss.replaced)
		ss.replaced = nil
	}
	con := ss.consumer
	ss.consumer = nil
	ss.mu.Unlock()
	if con != nil {
		con.release()
	}
	return true
}

// takeover serves a request for a session this manager does not hold:
// if the store has it (kept by a previous run), the session is opened
// again from the stored state. ss is nil when the request was answered
// (404, 410 or 503).
func (m *Manager) takeover(w http.ResponseWriter, r *http.Request, id string) *session {
	d, ok := m.durable()
	var info store.SessionInfo
	var err error
	if ok {
		info, err = m.cfg.Store.Info(id)
	}
	if !ok || err != nil {
		httpx.Error(w, http.StatusNotFound, "session_not_found", "no such session (it may have been opened on a server that restarted): open a new one")
		return nil
	}
	// One takeover at a time: two requests for the same session must not
	// open it twice. Takeovers only happen after a restart.
	m.takeMu.Lock()
	defer m.takeMu.Unlock()
	m.mu.Lock()
	ss := m.live[id]
	t, gone := m.gone.byID[id]
	m.mu.Unlock()
	switch {
	case ss != nil: // taken over by the request before this one
		return ss
	case gone && t.ss != nil:
		return t.ss
	case gone:
		writeGone(w, t)
		return nil
	}
	now := m.cfg.Now()
	var who owner
	if b, _ := d.Owner(id); len(b) > 0 {
		json.Unmarshal(b, &who)
	}
	switch {
	case info.Ended && info.Pending > 0 && now.Sub(info.LastSeen) <= m.cfg.SessionTimeout:
		// Ended before the restart with messages left: the next poll gets
		// them and the end, as it would have from the previous run.
		ss = &session{m: m, id: id, lastSeen: now, ended: true, code: info.Code, reason: info.Reason}
		m.mu.Lock()
		m.gone.add(id, tomb{code: info.Code, reason: info.Reason, at: now, ss: ss})
		m.mu.Unlock()
		return ss
	case info.Ended:
		return m.refuseTakeover(w, id, tomb{code: info.Code, reason: info.Reason})
	case now.Sub(info.LastSeen) > m.cfg.SessionTimeout:
		return m.refuseTakeover(w, id, tomb{code: core.CloseGoingAway, reason: "session expired", expired: true})
	case !who.Expires.IsZero() && !now.Before(who.Expires):
		return m.refuseTakeover(w, id, tomb{code: core.ClosePolicyViolation, reason: core.ReasonExpired})
	}

	ss = &session{m: m, id: id, lastSeen: now, subs: info.Subscriptions}
	scope := core.Scope{
		Identity:   core.Identity{Subject: who.Subject, Claims: who.Claims, Expires: who.Expires, Permissions: who.Permissions},
		RemoteAddr: m.cfg.Core.ClientAddr(r), Protocol: m.cfg.Protocol, Transport: "longpoll",
	}
	// The request's origin was checked (and CORS answered) already; this
	// only decides whether its cookies are the client's.
	scope.SetHeader(httpx.ConnectHeader(r, httpx.Check(headerOnly{http.Header{}}, r, m.cfg.Core.Config().AllowedOrigins)))
	cs, err := m.cfg.Core.OpenVirtual(scope, wrapped{m.cfg.Adapter, ss}, ss)
	if err != nil {
		switch {
		case errors.Is(err, core.ErrClosed):
			httpx.Error(w, http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
		case errors.Is(err, core.ErrHandshakeRate):
			w.Header().Set("Retry-After", "1")
			httpx.Error(w, http.StatusTooManyRequests, "rate_limited", err.Error())
		default:
			w.Header().Set("Retry-After", "1")
			httpx.Error(w, http.StatusServiceUnavailable, "too_many_connections", err.Error())
		}
		return nil
	}
	ss.mu.Lock()
	ss.cs = cs
	ss.mu.Unlock()
	ss.touch()
	m.resubscribe(cs, id, info)
	// Live only now, complete: requests meanwhile wait on takeMu.
	m.mu.Lock()
	if _, gone := m.gone.byID[id]; !gone {
		m.live[id] = ss
	}
	m.mu.Unlock()
	return ss
}

func (m *Manager) refuseTakeover(w http.ResponseWriter, id string, t tomb) *session {
	m.cfg.Store.Delete(id)
	m.mu.Lock()
	m.gone.add(id, tomb{code: t.code, reason: t.reason, expired: t.expired, at: m.cfg.Now()})
	m.mu.Unlock()
	writeGone(w, t)
	return nil
}

// resubscribe subscribes a session taken over to its filters again,
// each from the session's last positions: the stored ones, overlaid with
// those of the messages still in its log (written before the positions
// were). The router replays what history holds after them (durable
// topics keep their epoch across a restart) and notifies "missed" for
// the rest. The subscriptions go through the protocol, as notifications,
// so they are authorized and replayed exactly as the client's own.
func (m *Manager) resubscribe(cs *core.Session, id string, info store.SessionInfo) {
	pos := info.Positions
	if pos == nil {
		pos = map[string]message.Position{}
	}
	for after := info.Acked; ; {
		first, msgs, err := m.cfg.Store.Read(id, after, 256, 1<<20)
		if err != nil || len(msgs) == 0 {
			break
		}
		for t, p := range positionsOf(msgs) {
			pos[t] = p
		}
		after = first + uint64(len(msgs)) - 1
	}
	for _, f := range info.Subscriptions {
		since := map[string]position{}
		for t, p := range pos {
			if topic.Match(f, t) {
				since[t] = position{p.Epoch, p.Seq}
			}
		}
		req := map[string]any{"jsonrpc": "2.0", "method": "subscribe", "params": map[string]any{"topic": f, "since": since}}
		if len(since) == 0 {
			req["params"] = map[string]any{"topic": f}
		} else if p, ok := since[f]; ok && len(since) == 1 {
			req["params"] = map[string]any{"topic": f, "since": p} // an exact topic's one position
		}
		b, _ := json.Marshal(req)
		cs.Receive(wsframe.OpText, b)
	}
}

type position struct {
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
}

// headerOnly is a ResponseWriter whose headers go nowhere.
type headerOnly struct{ h http.Header }

func (w headerOnly) Header() http.Header       { return w.h }
func (headerOnly) Write(b []byte) (int, error) { return len(b), nil }
func (headerOnly) WriteHeader(int)             {}
