// Package core is what every protocol adapter sits on: sessions with
// bounded outbound queues, the flush and worker pools, the event loop, the
// router, hooks and metrics. The public herald package wraps it.
package core

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/poll"
	"github.com/heraldhq/herald/internal/router"
	"github.com/heraldhq/herald/internal/sched"
)

// Errors the core reports.
var (
	ErrClosed       = errors.New("herald: server closed")
	ErrNoMethod     = errors.New("herald: method not found")
	ErrForbidden    = errors.New("herald: forbidden")
	ErrUnauthorized = errors.New("herald: unauthorized")
)

// Action is what a client wants to do with a topic.
type Action uint8

const (
	ActionSubscribe Action = iota + 1
	ActionPublish
)

func (a Action) String() string {
	if a == ActionPublish {
		return "publish"
	}
	return "subscribe"
}

// ConnectInfo is what a connect hook sees of a new connection.
type ConnectInfo struct {
	RemoteAddr string
	Header     http.Header
	Protocol   string
	Transport  string
	Login      string // STOMP login / MQTT username, when the protocol has one
	Passcode   string
	Path       string // the handshake's URL path (WebSocket), e.g. a gateway route
	Refresh    bool   // an in-band credential refresh of a live session (identity.go)
	// TLS is the connection's TLS state when the client came over TLS
	// (nil otherwise): PeerCertificates holds its verified certificate
	// when the listener asked for one.
	TLS *tls.ConnectionState
}

// Hooks connect the core to the application. Nil hooks allow everything
// (Connect, Authorize) or answer "not found" (Call, Text).
type Hooks struct {
	Connect   func(ctx context.Context, info *ConnectInfo) (Identity, error)
	Authorize func(ctx context.Context, s *Scope, a Action, topic string) error
	// Call runs a request handler. Errors of type *RPCError reach the
	// client as they are; ErrNoMethod means no handler is registered.
	Call func(ctx context.Context, method string, params json.RawMessage) (any, error)
	Text func(ctx context.Context, text string) (string, error)
}

// RPCError is an error with a code the client sees (JSON-RPC 2.0 codes).
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (e *RPCError) Error() string { return e.Message }

// Config holds the core's settings; New fills zero fields with defaults.
type Config struct {
	Router         *router.Router
	Metrics        *metrics.Registry
	Logger         *slog.Logger
	Hooks          Hooks
	Workers        int           // application workers; default 4×GOMAXPROCS
	MaxInFlight    int           // queued requests per connection; default 256
	Queue          outq.Limits   // per-connection outbound queue
	MaxMessage     int           // inbound message size; default 64 KiB
	PingInterval   time.Duration // default 25s
	IdleTimeout    time.Duration // no inbound bytes for this long ends a connection; default 60s
	WriteTimeout   time.Duration // for blocking (TLS) transports; default 10s
	CloseTimeout   time.Duration // closing handshake; default 3s
	RequestTimeout time.Duration // per request handler call; default 30s
	Compression    bool          // accept permessage-deflate offers
	AllowedOrigins []string      // cross-origin patterns; empty = same origin only
	Limits         Limits        // connection, rate and subscription limits (limits.go)
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// Forwarded headers give the client's address (ClientAddr).
	TrustedProxies []netip.Prefix
}

// Core is shared by all sessions of one server.
type Core struct {
	cfg      Config
	router   *router.Router
	log      *slog.Logger
	m        *coreMetrics
	lim      *limiter
	workers  *sched.Pool
	flushers *sched.Pool
	ctx      context.Context
	stop     context.CancelFunc

	pollMu sync.Mutex
	poller *poll.Poller // created on first use; nil after Shutdown

	adapters map[string]Adapter // by WebSocket subprotocol
	raw      map[string]Adapter // by TCP protocol name

	mu       sync.Mutex
	sessions map[*Session]struct{}
	closing  bool
	drained  chan struct{}
	count    atomic.Int64
	clock    atomic.Int64
	sweepWG  sync.WaitGroup
	streamWG sync.WaitGroup
	expiry   expiry // credential expiry and refresh (identity.go)
}

// Adapter creates a protocol's per-session state.
type Adapter interface {
	// Protocols lists the WebSocket subprotocols it speaks ("" for a
	// connection that offers none).
	Protocols() []string
	Open(s *Session) Protocol
}

// New starts a core.
func New(cfg Config) *Core {
	if cfg.Workers <= 0 {
		cfg.Workers = 4 * runtime.GOMAXPROCS(0)
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 256
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = 64 << 10
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 25 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = 3 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewRegistry()
	}
	if cfg.Router == nil {
		cfg.Router = router.New(router.Options{})
	}
	c := &Core{
		cfg:      cfg,
		router:   cfg.Router,
		log:      cfg.Logger,
		workers:  sched.NewPool(cfg.Workers),
		flushers: sched.NewPool(runtime.GOMAXPROCS(0)),
		adapters: make(map[string]Adapter),
		raw:      make(map[string]Adapter),
		sessions: make(map[*Session]struct{}),
	}
	// No values in it: a session's context (sessctx.go) answers Value
	// for its Scope only.
	c.ctx, c.stop = context.WithCancel(context.Background())
	c.m = newCoreMetrics(cfg.Metrics, c)
	c.lim = newLimiter(&c.cfg.Limits, cfg.Metrics)
	c.clock.Store(time.Now().Unix())
	c.sweepWG.Add(1)
	go c.sweep()
	return c
}

// Router returns the message router.
func (c *Core) Router() *router.Router { return c.router }

// Config returns the effective settings.
func (c *Core) Config() *Config { return &c.cfg }

// Logger returns the core's logger.
func (c *Core) Logger() *slog.Logger { return c.log }

// Workers is the application worker pool.
func (c *Core) Workers() *sched.Pool { return c.workers }

// Register makes an adapter available for its subprotocols.
func (c *Core) Register(a Adapter) {
	for _, p := range a.Protocols() {
		c.adapters[p] = a
	}
}

// RegisterRaw makes an adapter available to TCP listeners as name.
func (c *Core) RegisterRaw(name string, a Adapter) { c.raw[name] = a }

// RawAdapter returns the TCP adapter registered as name.
func (c *Core) RawAdapter(name string) (Adapter, bool) {
	a, ok := c.raw[name]
	return a, ok
}

// Attach registers conn, a connection the application opened (a TCP
// gateway's backend), with the core's event loop, which then owns it and
// reports its events to h; setup runs before the first event can arrive
// (see poll.Poller.Add). It fails with poll.ErrNotPollable for a
// connection epoll cannot serve (TLS), which the caller serves itself,
// and with ErrClosed after Shutdown; conn is left open on failure only in
// those two cases.
func (c *Core) Attach(conn net.Conn, h poll.Handler, setup func(*poll.Conn)) (*poll.Conn, error) {
	if !poll.Pollable(conn) {
		return nil, poll.ErrNotPollable
	}
	p, err := c.pollerOrErr()
	if err != nil {
		return nil, err
	}
	return p.Add(conn, h, setup)
}

// Sessions reports the number of live sessions.
func (c *Core) Sessions() int { return int(c.count.Load()) }

func (c *Core) now() int64 { return c.clock.Load() }

// Unix is the coarse clock in Unix seconds, advanced once a second by the
// sweeper: for per-delivery bookkeeping (heart-beat due times) where a
// clock read per message would cost more than the delivery (time.Now is
// a slow path on some virtual machines).
func (c *Core) Unix() int64 { return c.clock.Load() }

func (c *Core) pollerOrErr() (*poll.Poller, error) {
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	if c.ctx.Err() != nil {
		return nil, ErrClosed
	}
	if c.poller == nil {
		p, err := poll.New(0)
		if err != nil {
			return nil, err
		}
		c.poller = p
	}
	return c.poller, nil
}

var idEnc = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

func newID() string {
	var b [10]byte
	rand.Read(b[:])
	return idEnc.EncodeToString(b[:])
}

// add registers s; it fails once shutdown has begun or when s already
// ended (OnClose marks the state before it calls remove, under the same
// lock order, so a closed session is never left registered).
func (c *Core) add(s *Session) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || s.state.Load() == stateClosed {
		return false
	}
	c.sessions[s] = struct{}{}
	c.count.Add(1)
	c.m.accepted.Inc()
	return true
}

func (c *Core) remove(s *Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.sessions[s]; !ok {
		return
	}
	delete(c.sessions, s)
	c.count.Add(-1)
	if c.closing && len(c.sessions) == 0 && c.drained != nil {
		close(c.drained)
		c.drained = nil
	}
}

// Authorize asks the application's hook.
func (c *Core) Authorize(ctx context.Context, s *Scope, a Action, topic string) error {
	if c.cfg.Hooks.Authorize == nil {
		return nil
	}
	if err := c.cfg.Hooks.Authorize(ctx, s, a, topic); err != nil {
		c.m.denied.Inc()
		return err
	}
	return nil
}

// Publish publishes m on behalf of s (nil for the server itself).
func (c *Core) Publish(ctx context.Context, s *Session, m *message.Message) error {
	if s != nil {
		if err := c.Authorize(ctx, &s.Scope, ActionPublish, m.Topic); err != nil {
			return err
		}
		m.Publisher = s.Scope.SessionID
	}
	if err := c.router.Publish(ctx, m); err != nil {
		return err
	}
	c.m.published.Inc()
	return nil
}

// PublishAsync publishes m, already authorized, without waiting for a
// cluster's stream to store it (router.PublishAsync); done is called once
// with the outcome and must not block.
func (c *Core) PublishAsync(ctx context.Context, m *message.Message, done func(error)) {
	c.router.PublishAsync(ctx, m, func(err error) {
		if err == nil {
			c.m.published.Inc()
		}
		done(err)
	})
}

// PublishesLater reports whether a publish waits for a cluster's stream
// (router.Sequenced): protocols then pipeline with PublishAsync.
func (c *Core) PublishesLater() bool { return c.router.Sequenced() }

// Shutdown closes every session with 1001 after flushing its queue, waits
// for them until ctx ends (then drops the rest), and stops the pools.
func (c *Core) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	c.closing = true
	drained := make(chan struct{})
	if len(c.sessions) == 0 {
		close(drained)
	} else {
		c.drained = drained
	}
	list := make([]*Session, 0, len(c.sessions))
	for s := range c.sessions {
		list = append(list, s)
	}
	c.mu.Unlock()
	for _, s := range list {
		s.shutdown()
	}
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
		for _, s := range list {
			s.Abort()
		}
		c.awaitAborted(drained)
	}
	c.pollMu.Lock()
	c.stop()
	p := c.poller
	c.pollMu.Unlock()
	c.sweepWG.Wait()
	if p != nil {
		p.Close()
	}
	c.streamWG.Wait()
	c.workers.Close()
	c.flushers.Close()
	return err
}

// shutdown closes s for a server shutdown, in its protocol's terms.
func (s *Session) shutdown() {
	if g, ok := s.proto.(interface{ GoingAway() }); ok {
		g.GoingAway()
		return
	}
	s.CloseWith(CloseGoingAway, "server shutting down")
}
