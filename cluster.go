package herald

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/heraldhq/herald/internal/broker"
	"github.com/heraldhq/herald/internal/cluster"
	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/mqtt"
	"github.com/heraldhq/herald/internal/queue"
	"github.com/heraldhq/herald/internal/store"
)

// ClusterOptions join a server to other Herald nodes over NATS, so that
// a message published on any node reaches the subscribers of every node
// (docs/cluster.md). Set Listen (and Routes) to run an embedded NATS
// server clustered with the other nodes', or NATSURL to use an external
// NATS cluster. The zero value is a single node: no NATS at all.
type ClusterOptions struct {
	Name         string   // cluster name, the same on every node; default "herald"
	Node         string   // this node's name in NATS; default Listen
	Listen       string   // host:port where the embedded NATS server takes routes from peers
	Routes       []string // seed routes: the other nodes' Listen addresses
	ClientListen string   // optional host:port for NATS clients of the embedded server

	// TLS on the embedded server's routes and client listener: mutual,
	// each node presents CertFile and accepts peers whose certificate
	// chains to CAFile. Username and Password are the route credentials
	// (the client listener asks for them too).
	TLS      ClusterTLS
	Username string
	Password string

	NATSURL string // external NATS server URLs, comma-separated; exclusive with Listen
	// How the node proves itself to the external NATS: TLS (CAFile checks
	// the servers, CertFile/KeyFile a client certificate) and at most one
	// of a credentials file, user and password, or token.
	NATSTLS      ClusterTLS
	NATSCreds    string
	NATSUser     string
	NATSPassword string
	NATSToken    string

	// Replicas is how many nodes keep each topic's history in the
	// cluster's stream; default 3 with an embedded NATS and two or more
	// Routes, else 1.
	Replicas int

	// Storage of the cluster's JetStream state (topic history, retained
	// messages): "memory", or "file" to keep it across a restart of the
	// whole cluster. Default: file with Options.DataDir (the embedded
	// server's files go in DataDir/nats), else memory.
	Storage string
}

// ClusterTLS names PEM files: a certificate chain and its key, and the
// CAs the other end's certificate must chain to.
type ClusterTLS struct {
	CertFile, KeyFile, CAFile string
}

func (t ClusterTLS) files() cluster.TLSFiles {
	return cluster.TLSFiles{CertFile: t.CertFile, KeyFile: t.KeyFile, CAFile: t.CAFile}
}

// ClusterStatus is what a node knows of its cluster membership and of the
// stream that sequences the cluster's topics.
type ClusterStatus = cluster.Detail

// clusterStartTimeout bounds how long Open waits for NATS.
const clusterStartTimeout = 15 * time.Second

// Open returns a running server configured by opts, like New, for
// options whose setup can fail, and reports the failure where New panics:
//   - Options.DataDir: the state of a previous run is restored (MQTT
//     persistent sessions and retained messages, STOMP /queue/ contents
//     and unacknowledged deliveries, the history of Durability.Topics,
//     long-poll and streaming sessions); Open fails if the directory is in
//     use by another process or its store cannot be trusted
//     (docs/durability.md).
//   - Options.Cluster: Open fails if NATS cannot be started or reached
//     (docs/cluster.md).
func Open(opts Options) (*Server, error) {
	if _, err := core.ParseTrustedProxies(opts.TrustedProxies); err != nil {
		return nil, fmt.Errorf("herald: %w", err)
	}
	d, err := openDurable(opts)
	if err != nil {
		return nil, err
	}
	opts.durable = d
	var node *cluster.Node
	c := opts.Cluster
	hsize, httl := historyLimits(opts)
	cfg := cluster.Config{Name: c.Name, Node: c.Node, Listen: c.Listen, Routes: c.Routes, ClientListen: c.ClientListen, URL: c.NATSURL,
		Replicas: c.Replicas, HistorySize: hsize, HistoryTTL: httl, Logger: opts.Logger,
		TLS: c.TLS.files(), Username: c.Username, Password: c.Password,
		NATSTLS: c.NATSTLS.files(), NATSCreds: c.NATSCreds, NATSUser: c.NATSUser, NATSPassword: c.NATSPassword, NATSToken: c.NATSToken}
	cfg.Storage, cfg.StoreDir = clusterStorage(opts)
	if !cfg.IsZero() {
		ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
		defer cancel()
		if node, err = cluster.Start(ctx, cfg); err != nil {
			_ = d.close()
			return nil, fmt.Errorf("herald: cluster: %w", err)
		}
	}
	s := newServer(opts, node)
	if err := d.loadErr(opts.DataDir); err != nil {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // nothing to drain: the server never served
		_ = s.Shutdown(ctx)
		return nil, err
	}
	if node != nil {
		s.clusterMetrics()
		if err := errors.Join(s.clusterTakeover(), s.clusterSessionOwner()); err != nil {
			_ = s.Shutdown(context.Background())
			return nil, fmt.Errorf("herald: cluster: %w", err)
		}
	}
	return s, nil
}

// clusterStorage is the storage of the cluster's JetStream state and the
// embedded server's directory for it.
func clusterStorage(opts Options) (broker.Storage, string) {
	st := broker.Storage(opts.Cluster.Storage)
	if st == "" {
		st = broker.MemoryStorage
		if opts.DataDir != "" {
			st = broker.FileStorage
		}
	}
	if opts.DataDir == "" {
		return st, ""
	}
	return st, filepath.Join(opts.DataDir, "nats")
}

// serverHistory is the router's history: the cluster's stream for a
// node of a cluster (a topic's history is the cluster's), else the data
// directory's for its durable topics, else nil (the router's memory
// history).
func serverHistory(opts Options, node *cluster.Node, size int, ttl time.Duration) store.History {
	if node != nil {
		return clusterHistory(node, size, ttl)
	}
	if h := opts.durable.historyStore(); h != nil {
		return h
	}
	return nil
}

// clusterBroker is the router's broker for node: nil (the router's
// in-process one) for a single node.
func clusterBroker(node *cluster.Node) broker.Broker {
	if node == nil {
		return nil
	}
	return node.Broker()
}

// clusterHistory is the router's history for node: its memory history
// backed by the cluster's stream (nil, the router's default, for a single
// node).
func clusterHistory(node *cluster.Node, size int, ttl time.Duration) store.History {
	if node == nil {
		return nil
	}
	return node.Broker().History(store.NewMemoryHistory(size, ttl))
}

// clusterMQTT gives the MQTT adapter the cluster's retained store (a
// JetStream key-value bucket mirrored on each node), unless the embedder
// chose a store.
func (s *Server) clusterMQTT(o mqtt.Options) mqtt.Options {
	if s.cluster == nil {
		return o
	}
	br := s.cluster.Broker()
	if o.Retained == nil {
		n, b := o.MaxRetained, o.MaxRetainedBytes
		if n <= 0 {
			n = 10_000 // mqtt.Options' defaults
		}
		if b <= 0 {
			b = 64 << 20
		}
		o.Retained = br.Retained(store.NewMemoryRetained(n, b))
	}
	// Tell the other nodes of each MQTT client id that connects here
	// (clusterTakeover).
	o.Connected = func(cid string) { _ = br.Announce("mqtt-connected", cid) }
	// The stream delivers a publish later, on the broker's goroutine.
	o.DeliversLater = br.Sequenced()
	// Share groups balance over the whole cluster when it has JetStream
	// (else over each node's members).
	if sh := br.Shares(broker.ShareConfig{}); sh != nil && o.Shares == nil {
		o.Shares = sh
	}
	if o.Sessions == nil {
		o.Sessions = clusterSessions(br) // persistent sessions follow their client
	}
	return o
}

// clusterTakeover closes this node's connection of an MQTT client id that
// connected to another node, as a takeover on one node would.
func (s *Server) clusterTakeover() error {
	return s.cluster.Broker().Control("mqtt-connected", func(cid string) { s.mqtt.Kick(cid) })
}

// clusterQueues is the STOMP queues' link to the other nodes (nil for a
// single node).
func (s *Server) clusterQueues() queue.Remote {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.Broker().Queues(func(name string, m *message.Message) error { return s.queues.SendLocal(name, m) })
}

// ClusterStatus reports this node's membership; ok is false for a single
// node.
func (s *Server) ClusterStatus() (st ClusterStatus, ok bool) {
	if s.cluster == nil {
		return ClusterStatus{}, false
	}
	return s.cluster.Detail(), true
}

// ReloadClusterTLS reads the cluster's route certificate and key
// (ClusterOptions.TLS) again, for the routes and NATS clients that
// connect from then on. It reports false, with no error, when the server
// has no cluster TLS; on error the previous certificate stays in use.
func (s *Server) ReloadClusterTLS() (bool, error) {
	if s.cluster == nil {
		return false, nil
	}
	return s.cluster.ReloadTLS()
}

// Ready reports whether the server should be sent clients: it is not
// shutting down and, in a cluster, it is connected to NATS and routed to
// its peers. A load balancer's readiness check calls it (/readyz).
func (s *Server) Ready() error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrServerClosed
	}
	if s.cluster != nil {
		return s.cluster.Ready()
	}
	return nil
}

// clusterMetrics adds the node's cross-node figures to /metrics.
func (s *Server) clusterMetrics() {
	st := func() cluster.Status { return s.cluster.Status() }
	s.metrics.GaugeFunc("herald_cluster_connected", "1 when this node's NATS connection is up.", func() float64 {
		if st().Connected {
			return 1
		}
		return 0
	})
	s.metrics.GaugeFunc("herald_cluster_routes", "Peer nodes the embedded NATS server is routed to.", func() float64 { return float64(st().Routes) })
	s.metrics.CounterFunc("herald_cluster_messages_out_total", "Messages published on this node and sent to the others.", func() float64 { return float64(st().Out) })
	s.metrics.CounterFunc("herald_cluster_messages_in_total", "Messages published on other nodes and received here.", func() float64 { return float64(st().In) })
	s.metrics.CounterFunc("herald_cluster_messages_bad_total", "Messages received from NATS that were not Herald envelopes.", func() float64 { return float64(st().Bad) })
	s.metrics.CounterFunc("herald_cluster_messages_dropped_total", "Messages NATS dropped because this node fell behind.", func() float64 { return float64(st().Dropped) })
	s.routeMetrics()
}

// routeMetrics adds the traffic with each peer (embedded mode), by peer
// node name.
func (s *Server) routeMetrics() {
	per := func(f func(cluster.RouteStats) float64) func() map[string]float64 {
		return func() map[string]float64 {
			routes := s.cluster.Routes()
			out := make(map[string]float64, len(routes))
			for peer, r := range routes {
				out[peer] = f(r)
			}
			return out
		}
	}
	m := s.metrics
	m.CounterVecFunc("herald_cluster_route_messages_in_total", "NATS messages received from a peer over its routes.", "peer", per(func(r cluster.RouteStats) float64 { return float64(r.InMsgs) }))
	m.CounterVecFunc("herald_cluster_route_messages_out_total", "NATS messages sent to a peer over its routes.", "peer", per(func(r cluster.RouteStats) float64 { return float64(r.OutMsgs) }))
	m.CounterVecFunc("herald_cluster_route_bytes_in_total", "Bytes received from a peer over its routes.", "peer", per(func(r cluster.RouteStats) float64 { return float64(r.InBytes) }))
	m.CounterVecFunc("herald_cluster_route_bytes_out_total", "Bytes sent to a peer over its routes.", "peer", per(func(r cluster.RouteStats) float64 { return float64(r.OutBytes) }))
	m.GaugeVecFunc("herald_cluster_route_pending_bytes", "Bytes queued for a peer and not yet written.", "peer", per(func(r cluster.RouteStats) float64 { return float64(r.Pending) }))
	m.GaugeVecFunc("herald_cluster_route_rtt_seconds", "The last measured round trip to a peer (the longest of its routes).", "peer", per(func(r cluster.RouteStats) float64 { return r.RTT.Seconds() }))
	if sh := s.cluster.Broker().Shares(broker.ShareConfig{}); sh != nil {
		s.metrics.CounterFunc("herald_cluster_shared_delivered_total", "MQTT shared-subscription messages the cluster gave this node's members.", func() float64 { return float64(sh.Stats().Delivered) })
		s.metrics.CounterFunc("herald_cluster_shared_redelivered_total", "Of those, messages given out before (by a node that was lost, or given back).", func() float64 { return float64(sh.Stats().Redelivered) })
		s.metrics.CounterFunc("herald_cluster_shared_given_back_total", "Shared-subscription messages this node gave back to their group (a member's session ended before it had them).", func() float64 { return float64(sh.Stats().GivenBack) })
	}
}

// closeCluster leaves the cluster, after the router has stopped using the
// broker.
func (s *Server) closeCluster() {
	if s.cluster != nil {
		_ = s.cluster.Close()
	}
}
