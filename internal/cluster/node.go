package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/broker"
	"github.com/heraldhq/herald/internal/tlsreload"
)

// SubjectPrefix is the first token of every subject Herald uses on NATS.
const SubjectPrefix = "herald"

// Errors.
var (
	ErrConfig   = errors.New("cluster: bad configuration")
	ErrNotReady = errors.New("cluster: not ready")
)

// Config says how a node joins the cluster. Set Listen (and usually
// Routes) for an embedded NATS server, or URL for an external one.
type Config struct {
	Name         string   // cluster name, the same on every node; default "herald"
	Node         string   // this node's name; default host:port of Listen
	Listen       string   // host:port for routes from the other nodes
	Routes       []string // seed routes, host:port or nats-route://host:port (this node's own is ignored by NATS)
	ClientListen string   // optional host:port for NATS clients (tools, other programs); default none

	// Security of the embedded server (security.go): mutual TLS on routes
	// and on the client listener, and route credentials, which the client
	// listener asks for too.
	TLS      TLSFiles
	Username string
	Password string

	URL string // external NATS servers, comma-separated nats:// URLs
	// How the node proves itself to an external NATS: TLS (CAFile checks
	// the servers; CertFile and KeyFile are a client certificate) and one
	// of a credentials file (JWT and NKey), user and password, or token.
	NATSTLS      TLSFiles
	NATSCreds    string
	NATSUser     string
	NATSPassword string
	NATSToken    string

	// The cluster-wide topic stream (JetStream), which gives every topic
	// one sequence on all nodes and keeps its history. Replicas: copies
	// kept; 0 means 3 when the embedded node has at least two seeds, else
	// 1. Without JetStream (an external NATS without it) nodes stamp
	// remote messages themselves (per-node sequences).
	Replicas    int
	HistorySize int           // messages kept per topic; at least 1 is kept
	HistoryTTL  time.Duration // their age limit; 0: none

	// Storage of the stream and of every other JetStream stream and
	// bucket the node makes (memory by default). File storage keeps them
	// across a restart of the whole cluster; the embedded server then
	// keeps JetStream's files in StoreDir, which must be this node's own
	// and the same at every start (Herald uses <data_dir>/nats).
	Storage  broker.Storage
	StoreDir string

	Logger *slog.Logger
}

// IsZero reports whether c asks for no clustering at all.
func (c Config) IsZero() bool { return c.Listen == "" && c.URL == "" && len(c.Routes) == 0 }

// Node is this process's membership in the cluster.
type Node struct {
	cfg    Config
	srv    *server.Server // nil when connected to an external NATS
	dir    string         // the embedded server's temporary JetStream directory, removed at shutdown
	broker *broker.NATS
	log    *slog.Logger
	tls    *tlsreload.Reloader // the route certificate, nil without cluster.tls
}

// Status is what health checks and metrics show of the membership.
type Status struct {
	Mode      string `json:"mode"` // "embedded" or "external"
	Node      string `json:"node,omitempty"`
	Connected bool   `json:"connected"`         // the node's NATS connection is up
	Routes    int    `json:"routes"`            // peers routed to (embedded mode)
	Seeds     int    `json:"seeds"`             // seed routes configured (embedded mode)
	Server    string `json:"server,omitempty"`  // NATS server connected to
	Sequenced bool   `json:"sequenced"`         // topics are sequenced cluster-wide (JetStream)
	Stream    bool   `json:"stream"`            // the sequencing stream is available
	Storage   string `json:"storage,omitempty"` // memory or file (sequenced only)
	broker.NATSStats
}

// Detail is Status with the stream's replication, which costs a request
// to JetStream (health checks, not metrics).
type Detail struct {
	Status
	StreamHealth broker.StreamHealth   `json:"stream_health"`
	Peers        map[string]RouteStats `json:"peers,omitempty"` // embedded mode
}

// Detail reports the membership, the stream's replication and the
// traffic with each peer.
func (n *Node) Detail() Detail {
	return Detail{Status: n.Status(), StreamHealth: n.broker.StreamHealth(), Peers: n.Routes()}
}

// Start joins the cluster described by cfg. ctx bounds the start (the
// embedded server's readiness and the first connection).
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Listen != "" && cfg.URL != "" {
		return nil, fmt.Errorf("%w: cluster.listen and nats.url are exclusive", ErrConfig)
	}
	if cfg.Listen == "" && cfg.URL == "" {
		return nil, fmt.Errorf("%w: cluster needs listen (embedded NATS) or nats.url", ErrConfig)
	}
	if cfg.Name == "" {
		cfg.Name = "herald"
	}
	st, err := broker.ParseStorage(string(cfg.Storage))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	cfg.Storage = st
	n := &Node{cfg: cfg, log: cfg.Logger}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	opts := []nats.Option{
		nats.NoEcho(),
		nats.Name("herald " + cfg.Node),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(64 << 20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { n.log.Warn("nats disconnected", "err", err) }),
		nats.ReconnectHandler(func(c *nats.Conn) { n.log.Info("nats reconnected", "server", c.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { n.log.Warn("nats error", "err", err) }),
	}
	sec, err := cfg.clientSecurity(cfg.Listen != "")
	if err != nil {
		return nil, err
	}
	opts = append(opts, sec...)
	url := cfg.URL
	if cfg.Listen != "" {
		srv, err := n.startServer(ctx)
		if err != nil {
			return nil, err
		}
		n.srv = srv
		opts = append(opts, nats.InProcessServer(srv))
		url = ""
	} else {
		opts = append(opts, nats.RetryOnFailedConnect(false))
		if d, ok := ctx.Deadline(); ok {
			opts = append(opts, nats.Timeout(time.Until(d)))
		}
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		n.shutdownServer()
		return nil, fmt.Errorf("cluster: connect to nats: %w", err)
	}
	b, err := n.newBroker(ctx, nc)
	if err != nil {
		nc.Close()
		n.shutdownServer()
		return nil, err
	}
	n.broker = b
	return n, nil
}

// newBroker makes the sequenced broker, or the unsequenced one when an
// external NATS has no JetStream.
func (n *Node) newBroker(ctx context.Context, nc *nats.Conn) (*broker.NATS, error) {
	replicas := n.cfg.Replicas
	if replicas <= 0 {
		replicas = 1
		if n.srv != nil && len(n.cfg.Routes) >= 2 {
			replicas = 3
		}
	}
	if n.srv != nil && len(n.cfg.Routes) == 0 {
		return broker.NewNATS(nc, SubjectPrefix)
	}
	b, err := broker.NewSequencedNATS(ctx, nc, SubjectPrefix, broker.StreamConfig{
		Replicas: replicas, PerTopic: n.cfg.HistorySize, MaxAge: n.cfg.HistoryTTL,
		Logger: n.log, External: n.srv == nil, Storage: n.cfg.Storage,
	})
	if errors.Is(err, broker.ErrNotSequenced) {
		n.log.Warn("the NATS server has no JetStream: sequences and history are per node", "err", err)
		return broker.NewNATS(nc, SubjectPrefix)
	}
	return b, err
}

// startServer runs the embedded NATS server and waits until it accepts
// (in-process) connections.
func (n *Node) startServer(ctx context.Context) (*server.Server, error) {
	host, port, err := splitHostPort(n.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("%w: cluster.listen: %w", ErrConfig, err)
	}
	o := &server.Options{
		ServerName: n.cfg.Node,
		NoSigs:     true,
		NoLog:      true,
		Cluster:    server.ClusterOpts{Name: n.cfg.Name, Host: host, Port: randomIfZero(port)},
		// Herald's topics can be long; the escaped subject is bounded by
		// broker.Subject, well under this.
		MaxControlLine: 8 << 10,
		MaxPayload:     8 << 20,
		// JetStream holds the topic stream (replicated, in memory or in
		// StoreDir's files: Config.Storage) and its cluster metadata. A
		// clustered JetStream needs routes: a node given none stays
		// unsequenced.
		JetStream:          len(n.cfg.Routes) > 0,
		JetStreamMaxMemory: 1 << 30,
	}
	dir, err := n.storeDir()
	if err != nil {
		return nil, err
	}
	o.StoreDir = dir
	if o.ServerName == "" {
		o.ServerName = n.cfg.Listen
	}
	for _, r := range n.cfg.Routes {
		u, err := routeURL(r)
		if err != nil {
			return nil, fmt.Errorf("%w: cluster.routes: %w", ErrConfig, err)
		}
		o.Routes = append(o.Routes, u)
	}
	if err := n.secureServer(o); err != nil {
		n.removeDir()
		return nil, err
	}
	if n.cfg.ClientListen != "" {
		h, p, err := splitHostPort(n.cfg.ClientListen)
		if err != nil {
			return nil, fmt.Errorf("%w: cluster.client_listen: %w", ErrConfig, err)
		}
		o.Host, o.Port = h, randomIfZero(p)
	} else {
		// NATS starts routing only once its client listener is up
		// (DontListen would hold routes back for ever), so without
		// client_listen the node takes a random loopback port that
		// nothing uses: Herald itself connects in-process.
		o.Host, o.Port = "127.0.0.1", server.RANDOM_PORT
	}
	srv, err := server.NewServer(o)
	if err != nil {
		n.removeDir()
		return nil, fmt.Errorf("cluster: nats server: %w", err)
	}
	srv.SetLoggerV2(&natsLogger{n.log}, false, false, false)
	srv.Start()
	wait := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		wait = time.Until(d)
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		n.removeDir()
		return nil, fmt.Errorf("cluster: nats server on %s did not start", n.cfg.Listen)
	}
	if n.cfg.Node == "" {
		n.cfg.Node = o.ServerName
	}
	return srv, nil
}

// storeDir is the embedded server's JetStream directory: StoreDir for
// file storage (kept), else a temporary one (removed at shutdown) that
// holds only the cluster's metadata.
func (n *Node) storeDir() (string, error) {
	if n.cfg.Storage == broker.FileStorage {
		if n.cfg.StoreDir == "" {
			return "", fmt.Errorf("%w: file storage needs a directory (data_dir)", ErrConfig)
		}
		if err := os.MkdirAll(n.cfg.StoreDir, 0o700); err != nil {
			return "", fmt.Errorf("cluster: %w", err)
		}
		return n.cfg.StoreDir, nil
	}
	dir, err := os.MkdirTemp("", "herald-nats-")
	if err != nil {
		return "", fmt.Errorf("cluster: %w", err)
	}
	n.dir = dir
	return dir, nil
}

// removeDir removes the temporary JetStream directory, if there is one.
func (n *Node) removeDir() {
	if n.dir != "" {
		os.RemoveAll(n.dir)
	}
}

// Storage is the storage of the node's JetStream streams and buckets:
// what a part that adds one passes along (broker.StreamConfig.Storage).
func (n *Node) Storage() broker.Storage {
	if n.cfg.Storage == "" {
		return broker.MemoryStorage
	}
	return n.cfg.Storage
}

// RouteAddr is where the embedded server listens for routes (nil in
// external mode): useful when Listen asked for port 0.
func (n *Node) RouteAddr() net.Addr {
	if n.srv == nil {
		return nil
	}
	return n.srv.ClusterAddr()
}

// randomIfZero maps port 0 (any free port, as net.Listen means it) to
// NATS's spelling of it, -1 (NATS takes 0 as "the default port").
func randomIfZero(p int) int {
	if p == 0 {
		return server.RANDOM_PORT
	}
	return p
}

// Broker is the node's broker, for the router. The Node keeps ownership:
// Close closes it.
func (n *Node) Broker() *broker.NATS { return n.broker }

// Status reports the membership as it is now.
func (n *Node) Status() Status {
	s := Status{Mode: "external", Node: n.cfg.Node, Connected: n.broker.Connected(), NATSStats: n.broker.Stats(),
		Sequenced: n.broker.Sequenced(), Stream: n.broker.Sequenced() && n.broker.StreamReady()}
	if s.Sequenced {
		s.Storage = string(n.broker.Storage())
	}
	if n.srv != nil {
		s.Mode = "embedded"
		s.Routes = n.srv.NumRemotes()
		s.Seeds = len(n.cfg.Routes)
	} else {
		s.Server = n.broker.ConnectedURL()
	}
	return s
}

// Ready reports whether the node is a working member: connected to NATS
// and, when it was given seed routes, routed to at least one peer (a node
// cut off from every peer would serve its own clients only).
func (n *Node) Ready() error {
	s := n.Status()
	switch {
	case !s.Connected:
		return fmt.Errorf("%w: not connected to NATS", ErrNotReady)
	case s.Mode == "embedded" && s.Seeds > 0 && s.Routes == 0:
		return fmt.Errorf("%w: no route to any peer", ErrNotReady)
	case n.broker.StreamError() != nil:
		return fmt.Errorf("%w: %w", ErrNotReady, n.broker.StreamError())
	case s.Sequenced && !s.Stream:
		return fmt.Errorf("%w: the cluster's topic stream is not available yet", ErrNotReady)
	}
	return nil
}

// Close leaves the cluster: the broker flushes and closes its connection,
// then the embedded server (if any) shuts down.
func (n *Node) Close() error {
	err := n.broker.Close()
	n.shutdownServer()
	return err
}

func (n *Node) shutdownServer() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.removeDir()
	}
}

func splitHostPort(addr string) (string, int, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(ps)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, p, nil
}

// routeURL accepts host:port or a nats-route:// URL.
func routeURL(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		if _, _, err := splitHostPort(s); err != nil {
			return nil, err
		}
		s = "nats-route://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "nats-route" || u.Host == "" {
		return nil, fmt.Errorf("%q is not host:port or nats-route://host:port", s)
	}
	return u, nil
}

// natsLogger sends the embedded server's log to slog, notices at debug
// level (they are chatty: every route) and warnings and errors as such.
type natsLogger struct{ l *slog.Logger }

func (l *natsLogger) Noticef(f string, v ...any) { l.l.Debug("nats: " + fmt.Sprintf(f, v...)) }
func (l *natsLogger) Warnf(f string, v ...any)   { l.l.Warn("nats: " + fmt.Sprintf(f, v...)) }
func (l *natsLogger) Fatalf(f string, v ...any)  { l.l.Error("nats: " + fmt.Sprintf(f, v...)) }
func (l *natsLogger) Errorf(f string, v ...any)  { l.l.Error("nats: " + fmt.Sprintf(f, v...)) }
func (l *natsLogger) Debugf(f string, v ...any)  { l.l.Debug("nats: " + fmt.Sprintf(f, v...)) }
func (l *natsLogger) Tracef(f string, v ...any)  {}
