package mqtt

import (
	"context"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/store"
)

// Subprotocols are the WebSocket subprotocols MQTT clients offer: "mqtt"
// (3.1.1 and 5.0, [MQTT-6.0.0-3]) and "mqttv3.1" (older clients).
var Subprotocols = []string{"mqtt", "mqttv3.1"}

// Options configure the adapter; New fills zero fields with defaults.
type Options struct {
	// MaxPacketSize bounds an inbound packet, fixed header included
	// (announced to 5.0 clients as Maximum Packet Size). Default: the
	// core's MaxMessage (64 KiB).
	MaxPacketSize int
	// MaxQueued bounds the QoS 1 and 2 messages a session holds beyond
	// its in-flight window: while its client is away (persistent
	// sessions) or slower than its window. When full, new messages for
	// the session are dropped and counted. Default 1000.
	MaxQueued int
	// MaxInflight bounds the QoS 1 and 2 messages sent to a client and
	// not yet acknowledged (further capped by a 5.0 client's Receive
	// Maximum). Default 256.
	MaxInflight int
	// ReceiveMaximum bounds the QoS 2 publications a client may have
	// unreleased (no PUBREL yet); announced to 5.0 clients. Default 1024.
	ReceiveMaximum int
	// TopicAliasMaximum is the number of topic aliases a 5.0 client may
	// use towards the server. Default 64; negative: none.
	TopicAliasMaximum int
	// MaxSessionExpiry caps how long a persistent session outlives its
	// connection (3.1.1 clean-session-0 sessions included). Default 24h.
	MaxSessionExpiry time.Duration
	// MaxKeepAlive, when set, is the keep-alive a 5.0 client that asks
	// for none or for a longer one is told to use (Server Keep Alive).
	MaxKeepAlive time.Duration
	// ConnectTimeout is how long a connection may take to send CONNECT.
	// Default 10s.
	ConnectTimeout time.Duration
	// RPCPrefix: a PUBLISH to RPCPrefix+method calls the request handler
	// for method (Hooks.Call). Default "$rpc/"; "-" turns it off.
	RPCPrefix string
	// SysInterval is how often $SYS/broker/... statistics are published.
	// Default 10s; negative turns them off.
	SysInterval time.Duration
	// Retained stores retained messages; default an in-memory store of at
	// most MaxRetained messages (default 10,000) and MaxRetainedBytes of
	// payload (default 64 MiB).
	Retained         store.Retained
	MaxRetained      int
	MaxRetainedBytes int
	// Version is reported in $SYS/broker/version; default the module's.
	Version string
	// Store, if set, keeps persistent sessions (subscriptions, queued and
	// in-flight QoS 1/2 messages, QoS 2 state) across restarts: Open
	// loads them, and PUBACK, PUBREC, PUBCOMP, SUBACK and UNSUBACK go out
	// only once what they acknowledge is durable. Pair it with a
	// store.FileRetained for retained messages.
	Store store.KV
	// Connected, if set, is called with the client identifier of each
	// connection once its session is attached (a cluster tells the other
	// nodes, which Kick that client: takeover.go).
	Connected func(clientID string)
	// DeliversLater says the router delivers a publish later, on another
	// goroutine, rather than during Publish (a cluster's stream stores and
	// sequences it first). A publish then keeps routing out of the
	// store's atomic section (publish.go), so that waiting for the
	// cluster's acknowledgement does not hold back other sessions'
	// commits.
	DeliversLater bool
	// Shares, if set, serves shared subscriptions for a whole cluster
	// (sharecluster.go): each message of a share group goes to one member
	// in the cluster, not one per node.
	Shares Shares
	// Sessions, if set, keeps persistent sessions for a cluster, so that
	// a client that reconnects to another node resumes its session there
	// (cluster.go).
	Sessions ClusterSessions
}

func (o *Options) defaults(c *core.Core) {
	if o.MaxPacketSize <= 0 {
		o.MaxPacketSize = c.Config().MaxMessage
	}
	o.MaxPacketSize = min(o.MaxPacketSize, 5+268_435_455)
	if o.MaxQueued <= 0 {
		o.MaxQueued = 1000
	}
	if o.MaxInflight <= 0 {
		o.MaxInflight = 256
	}
	o.MaxInflight = min(o.MaxInflight, 65535)
	if o.ReceiveMaximum <= 0 {
		o.ReceiveMaximum = 1024
	}
	o.ReceiveMaximum = min(o.ReceiveMaximum, 65535)
	switch {
	case o.TopicAliasMaximum == 0:
		o.TopicAliasMaximum = 64
	case o.TopicAliasMaximum < 0:
		o.TopicAliasMaximum = 0
	}
	o.TopicAliasMaximum = min(o.TopicAliasMaximum, 65535)
	if o.MaxSessionExpiry <= 0 {
		o.MaxSessionExpiry = 24 * time.Hour
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	switch o.RPCPrefix {
	case "":
		o.RPCPrefix = "$rpc/"
	case "-":
		o.RPCPrefix = ""
	}
	if o.SysInterval == 0 {
		o.SysInterval = 10 * time.Second
	}
	if o.MaxRetained <= 0 {
		o.MaxRetained = 10_000
	}
	if o.MaxRetainedBytes <= 0 {
		o.MaxRetainedBytes = 64 << 20
	}
	if o.Retained == nil {
		o.Retained = store.NewMemoryRetained(o.MaxRetained, o.MaxRetainedBytes)
	}
	if o.Version == "" {
		o.Version = moduleVersion()
	}
}

// Adapter is MQTT for one server: it opens a conn per connection and
// holds what outlives connections (sessions by client identifier,
// retained messages, shared-subscription groups, wills waiting for their
// delay), with one goroutine for timed work (session expiry, delayed
// wills, $SYS).
type Adapter struct {
	core     *core.Core
	opts     Options
	retained store.Retained
	started  time.Time

	// retMu orders retained messages against subscriptions: a retained
	// publish (store and fan-out) holds it exclusively, a subscription
	// (router subscribe and retained snapshot) shares it, so a new
	// subscriber gets each retained message exactly once, from the
	// snapshot or live.
	retMu sync.RWMutex

	// mu guards the session registry. Lock order: Adapter.mu, then
	// conn.mu, then session.mu; the router's locks, then group.mu, then
	// session.mu.
	mu       sync.Mutex
	sessions map[string]*session
	offline  map[*session]offline

	gmu    sync.Mutex // guards groups; held across the router calls that add or remove one
	groups map[string]*group

	tickets sync.Map // *message.Message -> func(bool): a cluster group's message not yet settled (sharecluster.go)

	connected atomic.Int64
	received  atomic.Uint64 // PUBLISH packets from clients
	sent      atomic.Uint64 // PUBLISH packets to clients
	subs      atomic.Int64
	m         adapterMetrics

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	cl *clusterAdapter // nil unless Options.Sessions
}

// offline is when a disconnected session ends and its delayed will is due.
type offline struct {
	expire time.Time
	will   time.Time // zero: no delayed will
}

type adapterMetrics struct {
	dropped, tooLarge, retainRefused *metrics.Counter
}

// New returns the adapter and starts its timer goroutine; Close stops it.
func New(c *core.Core, opts Options) *Adapter {
	opts.defaults(c)
	a := &Adapter{
		core:     c,
		opts:     opts,
		retained: opts.Retained,
		started:  time.Now(),
		sessions: make(map[string]*session),
		offline:  make(map[*session]offline),
		groups:   make(map[string]*group),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	r := c.Config().Metrics
	r.GaugeFunc("herald_mqtt_sessions", "MQTT sessions, connected or persisting.", func() float64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		return float64(len(a.sessions))
	})
	a.m = adapterMetrics{
		dropped:       r.Counter("herald_mqtt_dropped_total", "QoS 1 and 2 messages dropped because a session's queue was full, or expired before delivery."),
		tooLarge:      r.Counter("herald_mqtt_too_large_total", "Messages not sent because they exceed the client's Maximum Packet Size."),
		retainRefused: r.Counter("herald_mqtt_retain_refused_total", "Retained messages not kept because the retained store was full."),
	}
	if opts.Sessions != nil {
		a.startCluster(opts.Sessions)
	}
	go a.run()
	return a
}

// Protocols implements core.Adapter.
func (a *Adapter) Protocols() []string { return Subprotocols }

// Open implements core.Adapter.
func (a *Adapter) Open(s *core.Session) core.Protocol { return newConn(a, s) }

// Close stops the timer goroutine. Sessions end with their connections
// (core.Shutdown); call Close after it.
func (a *Adapter) Close() {
	a.closeOnce.Do(func() {
		close(a.stop)
		// The timed work may be publishing $SYS topics; on a cluster node
		// without a majority a publish waits for the stream (up to its
		// retry time) and fails only once the broker closes, after this:
		// do not wait for it beyond a grace period.
		select {
		case <-a.done:
		case <-time.After(closeGrace):
			a.core.Logger().Warn("mqtt: stopping while a $SYS publish waits for the cluster")
		}
		a.closeCluster()
	})
}

// run does the timed work once a second.
func (a *Adapter) run() {
	defer close(a.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var nextSys time.Time
	for {
		now := time.Now()
		a.expire(now)
		if a.opts.SysInterval > 0 && !now.Before(nextSys) {
			a.publishSys(now)
			nextSys = now.Add(a.opts.SysInterval)
		}
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
	}
}

// expire ends the offline sessions whose time is up and publishes the
// delayed wills that are due.
func (a *Adapter) expire(now time.Time) {
	var ended []*session
	var wills []*session
	a.mu.Lock()
	for ss, o := range a.offline {
		switch {
		case !now.Before(o.expire):
			delete(a.offline, ss)
			a.retireLocked(ss)
			ended = append(ended, ss)
		case !o.will.IsZero() && !now.Before(o.will):
			o.will = time.Time{}
			a.offline[ss] = o
			wills = append(wills, ss)
		}
	}
	a.mu.Unlock()
	for _, ss := range wills {
		ss.mu.Lock()
		w := ss.will
		ss.will = nil
		ss.mu.Unlock()
		a.publishWill(w)
	}
	for _, ss := range ended {
		a.cleanup(ss)
	}
}

// route publishes m (already authorized) into the topic space; a retained
// message also replaces its topic's retained message.
func (a *Adapter) route(ctx context.Context, m *message.Message, retain bool) error {
	if !retain {
		return a.core.Publish(ctx, nil, m)
	}
	a.retMu.Lock()
	defer a.retMu.Unlock()
	if err := a.core.Publish(ctx, nil, m); err != nil {
		return err
	}
	if !a.retained.Set(m) {
		a.m.retainRefused.Inc()
	}
	return nil
}

func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Path == "github.com/heraldhq/herald" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/heraldhq/herald" {
			return d.Version
		}
	}
	return "devel"
}
