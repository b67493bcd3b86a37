package stomp

import (
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/queue"
)

// Subprotocols are the WebSocket subprotocols STOMP answers to. The
// version itself is agreed by CONNECT's accept-version, whichever of them
// was chosen.
var Subprotocols = []string{"v12.stomp", "v11.stomp", "v10.stomp", "stomp"}

// Config configures the adapter. Zero fields take the defaults.
type Config struct {
	// Server is the CONNECTED frame's server header; default "Herald".
	Server string
	// HeartBeatSend is the shortest interval the server offers to send
	// heart-beats at (CONNECTED's sx); default 1s, negative never. The
	// server sends them from a once-a-second sweep, so less than 1s is
	// raised to 1s.
	HeartBeatSend time.Duration
	// HeartBeatReceive is the interval the server wants heart-beats from
	// clients at (sy); default 10s, negative never. A client silent for
	// 1.5 times the agreed interval is closed.
	HeartBeatReceive time.Duration
	// ConnectTimeout bounds the wait for the CONNECT frame; default 10s.
	ConnectTimeout time.Duration
	// RPCPrefix is where a SEND calls a request handler: /rpc/status
	// calls "status"; default "/rpc/".
	RPCPrefix string
	// MaxUnacked is the most messages a client-acknowledged subscription
	// holds unacknowledged (its credit); default 1000. A SUBSCRIBE's
	// prefetch-count header may ask for fewer.
	MaxUnacked int
	// Limits bound frames; MaxBody defaults to the core's MaxMessage.
	Limits Limits
	// Queues are the point-to-point queues; nil creates a default set.
	Queues *queue.Queues
	// Metrics receives the adapter's counters; nil keeps them private.
	Metrics *metrics.Registry
}

// Adapter is the STOMP core.Adapter. One Adapter serves both WebSocket
// and TCP, so they share queues.
type Adapter struct {
	cfg    Config
	errors *metrics.CounterVec
}

// New returns an adapter configured by cfg.
func New(cfg Config) *Adapter {
	if cfg.Server == "" {
		cfg.Server = "Herald"
	}
	if cfg.HeartBeatSend == 0 {
		cfg.HeartBeatSend = time.Second
	} else if cfg.HeartBeatSend > 0 && cfg.HeartBeatSend < time.Second {
		cfg.HeartBeatSend = time.Second
	}
	if cfg.HeartBeatReceive == 0 {
		cfg.HeartBeatReceive = 10 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.RPCPrefix == "" {
		cfg.RPCPrefix = "/rpc/"
	}
	if cfg.MaxUnacked <= 0 {
		cfg.MaxUnacked = 1000
	}
	if cfg.Queues == nil {
		cfg.Queues = queue.New(queue.Options{})
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewRegistry()
	}
	return &Adapter{
		cfg: cfg,
		errors: cfg.Metrics.CounterVec("herald_stomp_errors_total",
			"STOMP ERROR frames sent, by reason (protocol, limit, denied, heartbeat, overload).", "reason"),
	}
}

// Queues returns the adapter's point-to-point queues.
func (a *Adapter) Queues() *queue.Queues { return a.cfg.Queues }

// Protocols implements core.Adapter.
func (a *Adapter) Protocols() []string { return Subprotocols }

// Open implements core.Adapter.
func (a *Adapter) Open(s *core.Session) core.Protocol {
	lim := a.cfg.Limits
	if lim.MaxBody <= 0 {
		lim.MaxBody = s.Core().Config().MaxMessage
	}
	lim = lim.withDefaults()
	c := &conn{a: a, s: s, ws: s.WebSocket(), born: time.Now()}
	c.p.Limits = lim
	c.pauseBytes = lim.MaxBuffered()
	c.p.Version = V10
	return c
}
