package herald

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/cluster"
	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/durable"
	"github.com/heraldhq/herald/internal/emulate"
	"github.com/heraldhq/herald/internal/gateway"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/mqtt"
	"github.com/heraldhq/herald/internal/native"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/queue"
	"github.com/heraldhq/herald/internal/router"
)

// HandlerFunc answers a request. params is the request's JSON params (nil
// when absent); the result is encoded as JSON. Return an *Error to choose
// the error code the client sees.
type HandlerFunc func(ctx context.Context, params json.RawMessage) (any, error)

// TextHandlerFunc answers a plain-text message (a connection without a
// subprotocol) with a text reply.
type TextHandlerFunc func(ctx context.Context, text string) (string, error)

// Server is a Herald gateway: mount it as an http.Handler for WebSocket
// connections, register handlers, publish from anywhere.
type Server struct {
	core    *core.Core
	router  *router.Router
	metrics *metrics.Registry
	opts    Options
	mqtt    *mqtt.Adapter // MQTT sessions, retained messages, $SYS
	queues  *queue.Queues // STOMP's /queue/ destinations
	cluster *cluster.Node // nil for a single node (cluster.go)

	mu        sync.RWMutex
	handlers  map[string]HandlerFunc
	prefixes  []prefixHandler // longest first (handle_prefix.go)
	gwOnce    sync.Once
	gw        *gateway.Gateway // created by the first GatewayHandler
	emuOnce   sync.Once
	emu       *emulate.Manager // long polling and HTTP streaming sessions (longpoll.go)
	text      TextHandlerFunc
	listeners map[net.Listener]struct{}
	closed    bool
	acceptWG  sync.WaitGroup
}

// New returns a running server configured by opts (nil-safe zero value).
// With Options.DataDir or Options.Cluster set it panics if the data
// directory or clustering cannot be set up; Open returns the error
// instead.
func New(opts Options) *Server {
	s, err := Open(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// historyLimits applies the defaults of HistorySize and HistoryTTL.
func historyLimits(opts Options) (size int, ttl time.Duration) {
	size, ttl = opts.HistorySize, opts.HistoryTTL
	if size == 0 {
		size = 100
	} else if size < 0 {
		size = 0
	}
	if ttl == 0 {
		ttl = 10 * time.Minute
	}
	return size, ttl
}

// newServer builds the server around node (nil for a single node).
func newServer(opts Options, node *cluster.Node) *Server {
	s := &Server{cluster: node, opts: opts, handlers: make(map[string]HandlerFunc), listeners: make(map[net.Listener]struct{}), metrics: metrics.NewRegistry()}
	hsize, httl := historyLimits(opts)
	s.router = router.New(router.Options{HistorySize: hsize, HistoryTTL: httl, Broker: clusterBroker(node), History: serverHistory(opts, node, hsize, httl)})
	metrics.RuntimeMetrics(s.metrics)
	opts.durable.registerMetrics(s.metrics)
	s.core = core.New(core.Config{
		Router:         s.router,
		Metrics:        s.metrics,
		Logger:         opts.Logger,
		Workers:        opts.Workers,
		MaxInFlight:    opts.MaxInFlight,
		Queue:          outq.Limits{Messages: opts.QueueMessages, Bytes: opts.QueueBytes, Policy: outq.Policy(opts.SlowConsumer)},
		MaxMessage:     opts.MaxMessageSize,
		PingInterval:   opts.PingInterval,
		IdleTimeout:    opts.IdleTimeout,
		WriteTimeout:   opts.WriteTimeout,
		RequestTimeout: opts.RequestTimeout,
		Compression:    !opts.DisableCompression,
		AllowedOrigins: opts.AllowedOrigins,
		Limits:         opts.Limits.core(),
		TrustedProxies: trustedProxies(opts.TrustedProxies),
		Hooks: core.Hooks{
			Connect:   s.connectHook(),
			Authorize: s.authorizeHook(),
			Call:      s.call,
			Text:      s.callText,
		},
	})
	s.core.Register(native.RPC{})
	s.core.Register(native.Text{})
	s.core.Register(native.Chat{})
	s.registerSTOMP()
	s.registerMQTT()
	return s
}

// Handle registers h for requests to method. Built-in methods
// (subscribe, unsubscribe, publish) cannot be replaced.
func (s *Server) Handle(method string, h HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[method] = h
}

// HandleText registers the handler for plain-text connections.
func (s *Server) HandleText(h TextHandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.text = h
}

// ServeHTTP upgrades WebSocket requests. Mount it where clients connect,
// e.g. mux.Handle("/ws", srv).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.core.ServeWebSocket(w, r)
}

// MetricsHandler serves Prometheus metrics for this server.
func (s *Server) MetricsHandler() http.Handler { return s.metrics.Handler() }

// Connections reports how many clients are connected.
func (s *Server) Connections() int { return s.core.Sessions() }

// Position is a place in a topic's stream: clients resume after it.
type Position struct {
	Epoch string
	Seq   uint64
}

// PublishOption adjusts a published message.
type PublishOption func(*message.Message)

// WithContentType sets the payload's media type ("application/json" makes
// JSON clients receive it as a JSON value rather than a string).
func WithContentType(ct string) PublishOption {
	return func(m *message.Message) { m.ContentType = ct }
}

// WithHeader adds a metadata entry (a STOMP header, an MQTT 5 user
// property, a JSON "headers" member).
func WithHeader(key, value string) PublishOption {
	return func(m *message.Message) { m.Headers = append(m.Headers, message.Header{Key: key, Value: value}) }
}

// Publish sends data to every subscriber of topic, on every protocol, and
// returns the message's position in the topic.
func (s *Server) Publish(ctx context.Context, topic string, data []byte, opts ...PublishOption) (Position, error) {
	m := &message.Message{Topic: topic, Data: data}
	for _, o := range opts {
		o(m)
	}
	if err := s.core.Publish(ctx, nil, m); err != nil {
		if errors.Is(err, router.ErrClosed) {
			err = ErrServerClosed
		}
		return Position{}, fmt.Errorf("herald: publish to %q: %w", topic, err)
	}
	return Position{Epoch: m.Epoch, Seq: m.Seq}, nil
}

// Shutdown stops accepting connections, closes every client with 1001
// after its queued messages are written, and waits until they are gone or
// ctx ends (the rest are then dropped and ctx's error returned).
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeListeners()
	err := s.core.Shutdown(ctx)
	s.mqtt.Close() // its sessions ended with their connections
	s.router.Close()
	s.closeCluster()
	if derr := s.opts.durable.close(); derr != nil && err == nil && !errors.Is(derr, durable.ErrClosed) {
		err = derr
	}
	if errors.Is(err, core.ErrClosed) {
		return ErrServerClosed
	}
	return err
}

func (s *Server) call(ctx context.Context, method string, params json.RawMessage) (any, error) {
	if err := s.authorizeCall(ctx, method); err != nil {
		return nil, err
	}
	s.mu.RLock()
	h := s.handlers[method]
	if h == nil {
		h = s.prefixLocked(method)
	}
	s.mu.RUnlock()
	if h == nil {
		return nil, core.ErrNoMethod
	}
	res, err := h(withMethod(ctx, method), params)
	var he *Error
	if errors.As(err, &he) {
		return nil, &core.RPCError{Code: he.Code, Message: he.Message, Data: he.Data}
	}
	return res, err
}

func (s *Server) callText(ctx context.Context, text string) (string, error) {
	s.mu.RLock()
	h := s.text
	s.mu.RUnlock()
	if h == nil {
		return "", &core.RPCError{Message: "this server has no text handler"}
	}
	reply, err := h(ctx, text)
	var he *Error
	if errors.As(err, &he) {
		return reply, &core.RPCError{Code: he.Code, Message: he.Message, Data: he.Data}
	}
	return reply, err
}
