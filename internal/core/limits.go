package core

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/heraldhq/herald/internal/limit"
	"github.com/heraldhq/herald/internal/metrics"
)

// Limits bound what clients may take of a server. Zero fields mean no
// limit, except MaxSubscriptions (default 1024; negative for none).
type Limits struct {
	MaxConns       int     // open connections, all clients together
	MaxConnsPerIP  int     // open connections per client address (ClientKey)
	HandshakeRate  float64 // new connections accepted per second, all clients together
	HandshakeBurst int     // handshakes allowed at once; default one second's worth
	// HandshakeRatePerIP and HandshakeBurstPerIP are the same per client
	// address (ClientKey).
	HandshakeRatePerIP  float64
	HandshakeBurstPerIP int
	MessageRate         float64 // inbound messages per second per connection
	MessageBurst        int     // default one second's worth
	// MaxSubscriptions bounds the subscriptions of one connection.
	MaxSubscriptions int
}

// DefaultMaxSubscriptions is MaxSubscriptions when it is zero.
const DefaultMaxSubscriptions = 1024

// Errors of the limits; each protocol turns them into its own refusal.
var (
	ErrTooManyConnections   = errors.New("herald: too many connections")
	ErrHandshakeRate        = errors.New("herald: too many new connections, retry later")
	ErrMessageRate          = errors.New("herald: message rate exceeded")
	ErrTooManySubscriptions = errors.New("herald: too many subscriptions")
)

// maxRefusing bounds the TCP connections held open only to be told they
// were refused (STOMP ERROR, MQTT CONNACK) once their CONNECT arrives;
// past it a refused connection is closed at once.
const maxRefusing = 1024

// limiter is the core's admission state.
type limiter struct {
	cfg      Limits
	total    atomic.Int64
	perIP    *limit.Counter
	hs       *limit.Bucket
	hsPerIP  *limit.KeyedBuckets
	refusing atomic.Int64
	exceeded *metrics.CounterVec
}

func newLimiter(cfg *Limits, r *metrics.Registry) *limiter {
	if cfg.MaxSubscriptions == 0 {
		cfg.MaxSubscriptions = DefaultMaxSubscriptions
	}
	l := &limiter{
		cfg:     *cfg,
		perIP:   limit.NewCounter(cfg.MaxConnsPerIP),
		hs:      limit.NewBucket(cfg.HandshakeRate, cfg.HandshakeBurst, nil),
		hsPerIP: limit.NewKeyedBuckets(cfg.HandshakeRatePerIP, cfg.HandshakeBurstPerIP, 0, nil),
		exceeded: r.CounterVec("herald_limit_exceeded_total",
			"Breaches of a limit, by limit: connections, connections_per_ip, handshake_rate, handshake_rate_per_ip, message_rate, subscriptions.", "limit"),
	}
	r.GaugeFunc("herald_limit_client_addresses", "Client addresses holding connections (tracked only with a per-address limit).",
		func() float64 { return float64(l.perIP.Keys()) })
	return l
}

// ClientKey is the address a client's connections are counted under: the
// host of the session's RemoteAddr. Every per-client limit goes through
// it, so that it is the one place to change what a client is (trusted
// proxies' X-Forwarded-For, IPv6 prefixes).
func ClientKey(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}

// Ticket is an admitted connection's hold on the connection limits;
// Release gives it back (once; later calls do nothing).
type Ticket struct {
	l    *limiter
	key  string
	done atomic.Bool
}

// unlimited is the ticket of every connection when no connection limit
// is configured; its Release does nothing.
var unlimited = &Ticket{}

// Release returns the ticket's places. A nil ticket does nothing.
func (t *Ticket) Release() {
	if t == nil || t.l == nil || t.done.Swap(true) {
		return
	}
	t.l.total.Add(-1)
	t.l.perIP.Release(t.key)
}

// Admit decides whether a new connection from remoteAddr may be served:
// the per-address and total connection limits, then the handshake rates,
// the address's and the server's (a connection refused for its count
// spends no handshake token). The error wraps
// ErrTooManyConnections or ErrHandshakeRate; the breach is counted.
func (c *Core) Admit(remoteAddr string) (*Ticket, error) {
	l := c.lim
	key := ClientKey(remoteAddr)
	if !l.perIP.Acquire(key) {
		l.exceeded.With("connections_per_ip").Inc()
		return nil, &limitError{ErrTooManyConnections, "too many connections from " + key + " (limit " + strconv.Itoa(l.cfg.MaxConnsPerIP) + ")"}
	}
	if n := l.total.Add(1); l.cfg.MaxConns > 0 && n > int64(l.cfg.MaxConns) {
		l.total.Add(-1)
		l.perIP.Release(key)
		l.exceeded.With("connections").Inc()
		return nil, &limitError{ErrTooManyConnections, "server at its connection limit (" + strconv.Itoa(l.cfg.MaxConns) + ")"}
	}
	if !l.hsPerIP.Allow(key) {
		l.total.Add(-1)
		l.perIP.Release(key)
		l.exceeded.With("handshake_rate_per_ip").Inc()
		return nil, &limitError{ErrHandshakeRate, "too many new connections from " + key + ", retry later"}
	}
	if !l.hs.Allow() {
		l.total.Add(-1)
		l.perIP.Release(key)
		l.exceeded.With("handshake_rate").Inc()
		return nil, &limitError{ErrHandshakeRate, ErrHandshakeRate.Error()}
	}
	if l.cfg.MaxConns <= 0 && l.perIP == nil {
		// No connection limit: nothing to give back, and every idle
		// connection would hold a Ticket for it.
		l.total.Add(-1)
		return unlimited, nil
	}
	return &Ticket{l: l, key: key}, nil
}

// limitError says which limit refused, with the figures, and wraps the
// sentinel.
type limitError struct {
	err error
	msg string
}

func (e *limitError) Error() string { return e.msg }
func (e *limitError) Unwrap() error { return e.err }

// RefuseHTTP answers a request Admit refused: 429 for the handshake rate,
// 503 for the connection limits, both with Retry-After and the reason.
func RefuseHTTP(w http.ResponseWriter, err error) {
	status := http.StatusServiceUnavailable
	if errors.Is(err, ErrHandshakeRate) {
		status = http.StatusTooManyRequests
	}
	w.Header().Set("Retry-After", "1")
	http.Error(w, err.Error(), status)
}

// Refused is why the session's connection was not admitted (nil if it
// was). Protocols that hear from the client first (STOMP, MQTT over TCP)
// check it when CONNECT arrives and refuse in their own terms.
func (s *Session) Refused() error { return s.refused }

// admitRaw admits a TCP connection: with a ticket, or refused, in which
// case the session is served only to tell the client; ok is false when
// too many refused connections wait already and conn should be closed.
func (c *Core) admitRaw(s *Session) (ok bool) {
	t, err := c.Admit(s.Scope.RemoteAddr)
	if err == nil {
		s.ticket = t
		return true
	}
	if c.lim.refusing.Add(1) > maxRefusing {
		c.lim.refusing.Add(-1)
		return false
	}
	s.refused = err
	return true
}

// releaseAdmission is a session's end for the limits.
func (s *Session) releaseAdmission() {
	s.ticket.Release()
	if s.refused != nil {
		s.core.lim.refusing.Add(-1)
	}
}

// AllowMessage spends one of the session's message tokens; false means
// the client exceeds the message rate (counted). The core calls it per
// WebSocket message, except for protocols that are FrameCounters.
func (s *Session) AllowMessage() bool {
	if s.msgs.Allow() {
		return true
	}
	s.core.lim.exceeded.With("message_rate").Inc()
	return false
}

// FrameCounter is implemented by protocols that call AllowMessage per
// frame of their own (STOMP frames, MQTT packets) on every transport and
// answer an exceeded rate in their own terms: a WebSocket message may
// carry part of a frame (MQTT.js sends a packet in pieces) or several.
type FrameCounter interface {
	CountsFrames()
}

// errMessageRate closes a WebSocket session over its message rate.
var errMessageRate = &CloseError{Code: ClosePolicyViolation, Reason: "message rate exceeded"}

// overRate spends a token for one WebSocket message unless the protocol
// counts its own frames; it reports whether the rate is exceeded.
func (s *Session) overRate() bool {
	if _, ok := s.proto.(FrameCounter); ok {
		return false
	}
	return !s.AllowMessage()
}

// MaxSubscriptions is the most subscriptions a connection may hold (0:
// no limit).
func (c *Core) MaxSubscriptions() int { return max(c.lim.cfg.MaxSubscriptions, 0) }

// SubscriptionLimited counts a subscription refused for the limit, for
// protocols that keep their own subscription lists (STOMP, MQTT).
func (c *Core) SubscriptionLimited() { c.lim.exceeded.With("subscriptions").Inc() }
