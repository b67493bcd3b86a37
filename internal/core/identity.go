package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/metrics"
)

// liveIdentity is the part of a session's identity that changes while it
// is connected: an in-band refresh replaces the identity, and the
// sweeper reads the expiry from another goroutine.
type liveIdentity struct {
	p       atomic.Pointer[Identity]
	expires atomic.Int64 // unix nanoseconds; 0: none, or already handled
}

func newLive(id Identity) *liveIdentity {
	l := new(liveIdentity)
	if !id.Expires.IsZero() {
		l.expires.Store(id.Expires.UnixNano())
	}
	return l
}

func (l *liveIdentity) set(id Identity) {
	l.p.Store(&id)
	var e int64
	if !id.Expires.IsZero() {
		e = id.Expires.UnixNano()
	}
	l.expires.Store(e)
}

// Current returns the identity in force: the latest one set by
// SetIdentity or Reauthenticate, else Identity.
func (s *Scope) Current() Identity {
	if s.live != nil {
		if p := s.live.p.Load(); p != nil {
			return *p
		}
	}
	return s.Identity
}

// SetIdentity sets the identity of a session that authenticates after
// its transport is up (STOMP CONNECT, MQTT CONNECT).
func (s *Session) SetIdentity(id Identity) {
	s.Scope.Identity = id
	s.Scope.live.set(id)
	if !id.Expires.IsZero() {
		s.core.expiry.seen.Store(true)
	}
}

// Expirer is implemented by protocols that end a connection whose
// credentials expired in their own terms (STOMP ERROR, MQTT 5
// DISCONNECT, an SSE event). Expire is called once, from the sweeper: it
// must not block. Other sessions are closed with WebSocket 1008 "token
// expired".
type Expirer interface {
	Expire()
}

// ReasonExpired is the close reason of a session whose credentials
// expired.
const ReasonExpired = "token expired"

// expiry is the core's share of credential expiry.
type expiry struct {
	seen    atomic.Bool // some identity expires: the sweeper has work
	once    sync.Once
	expired *metrics.Counter
	renewed *metrics.Counter
}

func (c *Core) expiryMetrics() *expiry {
	e := &c.expiry
	e.once.Do(func() {
		e.expired = c.cfg.Metrics.Counter("herald_credentials_expired_total", "Connections closed because their credentials expired unrefreshed.")
		e.renewed = c.cfg.Metrics.Counter("herald_credentials_refreshed_total", "In-band credential refreshes that succeeded.")
	})
	return e
}

// noteExpiry lets the sweeper know that identities expire.
func (c *Core) noteExpiry(id Identity, err error) (Identity, error) {
	if err == nil && !id.Expires.IsZero() {
		c.expiry.seen.Store(true)
	}
	return id, err
}

// expire ends the sessions whose credentials have expired. The sweeper
// calls it once a second; it does nothing until some identity expires.
func (c *Core) expire(now time.Time) {
	if !c.expiry.seen.Load() {
		return
	}
	m := c.expiryMetrics()
	ns := now.UnixNano()
	var list []*Session
	c.mu.Lock()
	for s := range c.sessions {
		if l := s.Scope.live; l != nil {
			if e := l.expires.Load(); e != 0 && ns >= e && l.expires.CompareAndSwap(e, 0) {
				list = append(list, s)
			}
		}
	}
	c.mu.Unlock()
	for _, s := range list {
		if !s.Open() {
			continue
		}
		m.expired.Inc()
		if x, ok := s.proto.(Expirer); ok {
			x.Expire()
			continue
		}
		s.CloseWith(ClosePolicyViolation, ReasonExpired)
	}
}

// Reauthenticate runs the connect hook again, with token as the
// credentials, for a session that is already connected (an in-band
// refresh). When the hook accepts the token for the same subject, the new
// identity (permissions, expiry) applies from then on; a refused refresh
// leaves the current identity in force until it expires.
func (s *Session) Reauthenticate(ctx context.Context, token string) (Identity, error) {
	c := s.core
	if token == "" {
		return Identity{}, fmt.Errorf("%w: no token to refresh with", ErrUnauthorized)
	}
	if c.cfg.Hooks.Connect == nil {
		return Identity{}, fmt.Errorf("%w: this server does not authenticate connections", ErrForbidden)
	}
	h := s.Scope.Header()
	h.Set("Authorization", "Bearer "+token)
	id, err := c.connect(ctx, &ConnectInfo{
		RemoteAddr: s.Scope.RemoteAddr, Header: h, Protocol: s.Scope.Protocol,
		Transport: s.Scope.Transport, Passcode: token, Refresh: true, TLS: s.TLS(),
	})
	if err != nil {
		return Identity{}, err
	}
	if cur := s.Scope.Current(); id.Subject != cur.Subject {
		return Identity{}, fmt.Errorf("%w: a refresh must keep the subject (%q, not %q)", ErrForbidden, cur.Subject, id.Subject)
	}
	s.Scope.live.set(id)
	c.expiryMetrics().renewed.Inc()
	return id, nil
}
