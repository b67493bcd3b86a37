package herald

import "github.com/heraldhq/herald/internal/core"

// Limits bound what clients may take of a server. A breach gets the
// protocol's own refusal and is counted in herald_limit_exceeded_total:
//
//   - A connection over MaxConnections or MaxConnectionsPerIP, or past the
//     handshake rate, is refused before it is served: WebSocket, SSE and
//     HTTP streaming with HTTP 503 (429 for the rate) and Retry-After;
//     long polling likewise with a JSON error; STOMP over TCP with an
//     ERROR frame; MQTT over TCP with CONNACK 0x97 quota exceeded, 0x9F
//     connection rate exceeded (5.0) or 0x03 server unavailable (3.1.1).
//   - A client over its message rate is disconnected: WebSocket close 1008,
//     STOMP ERROR, MQTT 5 DISCONNECT 0x96.
//   - A subscription past MaxSubscriptions is refused and the connection
//     kept: JSON-RPC error -32029, MQTT SUBACK 0x97 (5.0) or 0x80 (3.1.1);
//     STOMP sends ERROR and closes, as it must for any refused frame.
//
// Zero fields mean no limit, except MaxSubscriptions.
type Limits struct {
	MaxConnections      int // open connections, all clients together
	MaxConnectionsPerIP int // open connections per client address

	// HandshakesPerSecond bounds new connections accepted per second, all
	// clients together (token bucket; HandshakeBurst at once, default one
	// second's worth).
	HandshakesPerSecond float64
	HandshakeBurst      int

	// HandshakesPerSecondPerIP and HandshakeBurstPerIP are the same for
	// each client address: a reconnecting flood from one address is
	// refused while others still connect.
	HandshakesPerSecondPerIP float64
	HandshakeBurstPerIP      int

	// MessagesPerSecond bounds each connection's inbound messages
	// (WebSocket messages of the native protocols; STOMP frames and
	// MQTT packets on any transport), with MessageBurst at once
	// (default one second's worth).
	MessagesPerSecond float64
	MessageBurst      int

	// MaxSubscriptions bounds one connection's subscriptions; default
	// 1024, negative for no limit.
	MaxSubscriptions int
}

func (l Limits) core() core.Limits {
	return core.Limits{
		MaxConns: l.MaxConnections, MaxConnsPerIP: l.MaxConnectionsPerIP,
		HandshakeRate: l.HandshakesPerSecond, HandshakeBurst: l.HandshakeBurst,
		HandshakeRatePerIP: l.HandshakesPerSecondPerIP, HandshakeBurstPerIP: l.HandshakeBurstPerIP,
		MessageRate: l.MessagesPerSecond, MessageBurst: l.MessageBurst,
		MaxSubscriptions: l.MaxSubscriptions,
	}
}
