package herald

import (
	"net"
	"time"

	"github.com/heraldhq/herald/internal/mqtt"
)

// MQTTOptions configure MQTT (3.1, 3.1.1 and 5.0), spoken on the
// WebSocket endpoint (subprotocols "mqtt" and "mqttv3.1") and on
// ServeMQTT listeners. The zero value is usable; see docs/mqtt.md.
type MQTTOptions struct {
	// MaxPacketSize bounds an inbound packet (5.0 clients are told);
	// default MaxMessageSize. Larger packets close the connection (5.0:
	// DISCONNECT 0x95 first).
	MaxPacketSize int
	// MaxQueuedMessages bounds the QoS 1 and 2 messages a session holds
	// while its client is away or slower than its in-flight window; when
	// full, newer messages for that session are dropped (counted in
	// herald_mqtt_dropped_total). Default 1000.
	MaxQueuedMessages int
	// MaxInflight bounds unacknowledged QoS 1 and 2 messages per client
	// (and a 5.0 client's own Receive Maximum does too). Default 256.
	MaxInflight int
	// ReceiveMaximum bounds the QoS 2 publications a client may have
	// awaiting PUBREL (announced to 5.0 clients). Default 1024.
	ReceiveMaximum int
	// TopicAliasMaximum is how many topic aliases a 5.0 client may use.
	// Default 64; negative disables them.
	TopicAliasMaximum int
	// MaxSessionExpiry caps how long a persistent session is kept after
	// its client disconnects. Default 24h.
	MaxSessionExpiry time.Duration
	// MaxKeepAlive, when set, is imposed on 5.0 clients asking for a
	// longer keep-alive or none (Server Keep Alive).
	MaxKeepAlive time.Duration
	// ConnectTimeout is how long a new connection may take to send
	// CONNECT. Default 10s.
	ConnectTimeout time.Duration
	// RPCPrefix: an MQTT 5 PUBLISH to RPCPrefix+method with a Response
	// Topic calls the handler registered for method (Server.Handle) and
	// publishes its result to the Response Topic with the request's
	// Correlation Data. Default "$rpc/"; "-" disables.
	RPCPrefix string
	// SysInterval is how often $SYS/broker/... statistics are published.
	// Default 10s; negative disables them.
	SysInterval time.Duration
	// MaxRetainedMessages and MaxRetainedBytes bound the retained
	// messages kept (defaults 10,000 and 64 MiB of payload).
	MaxRetainedMessages int
	MaxRetainedBytes    int
}

func (o *MQTTOptions) adapter() mqtt.Options {
	return mqtt.Options{
		MaxPacketSize:     o.MaxPacketSize,
		MaxQueued:         o.MaxQueuedMessages,
		MaxInflight:       o.MaxInflight,
		ReceiveMaximum:    o.ReceiveMaximum,
		TopicAliasMaximum: o.TopicAliasMaximum,
		MaxSessionExpiry:  o.MaxSessionExpiry,
		MaxKeepAlive:      o.MaxKeepAlive,
		ConnectTimeout:    o.ConnectTimeout,
		RPCPrefix:         o.RPCPrefix,
		SysInterval:       o.SysInterval,
		MaxRetained:       o.MaxRetainedMessages,
		MaxRetainedBytes:  o.MaxRetainedBytes,
	}
}

// registerMQTT makes MQTT available on the WebSocket endpoint and to
// ServeTCP(ln, "mqtt").
func (s *Server) registerMQTT() {
	s.mqtt = s.opts.durable.openMQTT(s, s.clusterMQTT(s.opts.MQTT.adapter()))
	s.core.Register(s.mqtt)
	s.core.RegisterRaw("mqtt", s.mqtt)
}

// ServeMQTT accepts MQTT connections on ln (plain TCP, or TLS with a
// crypto/tls listener) until Shutdown; it is ServeTCP(ln, "mqtt").
func (s *Server) ServeMQTT(ln net.Listener) error { return s.ServeTCP(ln, "mqtt") }
