package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync/atomic"
	"time"
)

// Defaults for a Route's zero fields.
const (
	DefaultMaxConns       = 1024
	DefaultConnectTimeout = 10 * time.Second
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultBuffer         = 256 << 10
)

// Subprotocols every route speaks.
const (
	Binary = "binary" // raw bytes in binary messages (also the mode without a subprotocol)
	Base64 = "base64" // base64 in text messages, for clients without binary support
)

// Route is one gateway endpoint's configuration.
type Route struct {
	// Name labels the route's metrics; default Backend.
	Name string
	// Backend is the TCP address (host:port) every connection goes to.
	Backend string
	// AllowedOrigins are the browser origins allowed besides the
	// server's own (see core.OriginAllowed); nil means the server's list.
	AllowedOrigins []string
	// AuthRequired runs the server's connect hook, which must accept the
	// handshake (401 or 403 otherwise). Without it the route is open and
	// its clients anonymous.
	AuthRequired bool
	// MaxConns bounds the route's connections (503 beyond); 0 means
	// DefaultMaxConns, negative means no limit.
	MaxConns int
	// ConnectTimeout bounds the backend connection (and TLS handshake);
	// default 10s.
	ConnectTimeout time.Duration
	// IdleTimeout closes a connection with no bytes either way for this
	// long (checked once a second, so at least 1s); default 5 minutes.
	IdleTimeout time.Duration
	// TLS, when not nil, connects to the backend with TLS.
	TLS *tls.Config
	// Subprotocols are further WebSocket subprotocols accepted in binary
	// mode, for clients whose protocol names one (MQTT clients ask for
	// "mqtt").
	Subprotocols []string
	// MaxMessage bounds a client's message; 0 means the server's limit.
	MaxMessage int
	// Buffer is the backlog toward the client past which the backend is
	// no longer read; default 256 KiB.
	Buffer int
}

// ErrBadRoute reports an invalid Route.
var ErrBadRoute = errors.New("gateway: invalid route")

func (r *Route) normalize() error {
	if _, port, err := net.SplitHostPort(r.Backend); err != nil || port == "" {
		return fmt.Errorf("%w: backend %q is not host:port", ErrBadRoute, r.Backend)
	}
	if r.Name == "" {
		r.Name = r.Backend
	}
	if r.MaxConns == 0 {
		r.MaxConns = DefaultMaxConns
	}
	if r.ConnectTimeout <= 0 {
		r.ConnectTimeout = DefaultConnectTimeout
	}
	if r.IdleTimeout <= 0 {
		r.IdleTimeout = DefaultIdleTimeout
	}
	// The sweeper checks once a second: a shorter timeout would close
	// connections at their first check.
	r.IdleTimeout = max(r.IdleTimeout, time.Second)
	if r.Buffer <= 0 {
		r.Buffer = DefaultBuffer
	}
	for _, p := range r.Subprotocols {
		if p == "" || p == Base64 {
			return fmt.Errorf("%w: subprotocol %q cannot be a binary one", ErrBadRoute, p)
		}
	}
	r.Subprotocols = slices.Clone(r.Subprotocols)
	r.AllowedOrigins = slices.Clone(r.AllowedOrigins)
	return nil
}

// route is a Route in service: its limits, metrics and counters.
type route struct {
	Route
	gw      *Gateway
	m       routeMetrics
	conns   atomic.Int64
	dialer  net.Dialer
	frameHW int // backlog frames past which the backend is paused

	// Peaks, for tests and for the curious: the largest backlog toward a
	// client and the largest pending buffer toward a backend seen.
	peakBacklog atomic.Int64
	peakPending atomic.Int64
	pauses      atomic.Int64      // times either side was paused
	onPause     func(side string) // test hook, called with the splice locked
}

// reserve takes a connection slot.
func (rt *route) reserve() bool {
	n := rt.conns.Add(1)
	if rt.MaxConns > 0 && n > int64(rt.MaxConns) {
		rt.conns.Add(-1)
		return false
	}
	return true
}

func (rt *route) release() { rt.conns.Add(-1) }

// pick chooses the first offered subprotocol the route speaks, in the
// client's order; none offered means binary without a subprotocol.
func (rt *route) pick(offered []string) (sub string, text, ok bool) {
	if len(offered) == 0 {
		return "", false, true
	}
	for _, p := range offered {
		switch {
		case p == Binary:
			return p, false, true
		case p == Base64:
			return p, true, true
		case slices.Contains(rt.Subprotocols, p):
			return p, false, true
		}
	}
	return "", false, false
}

func (rt *route) supported() []string {
	return append([]string{Binary, Base64}, rt.Subprotocols...)
}

func storeMax(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}
