package herald

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"
)

// SlowConsumerPolicy says what happens to a connection whose outbound
// queue is full because the client reads more slowly than messages arrive.
type SlowConsumerPolicy uint8

const (
	// Disconnect closes the connection (WebSocket 1008); the client
	// reconnects and resumes from its position. The default.
	Disconnect SlowConsumerPolicy = iota
	// DropOldest discards the oldest queued publications to make room.
	DropOldest
	// KeepLatest replaces a queued publication of the same topic with
	// the newer one, then drops the oldest.
	KeepLatest
)

// Action is what a client asks to do with a topic.
type Action uint8

const (
	Subscribe Action = iota + 1
	Publish
)

func (a Action) String() string {
	if a == Publish {
		return "publish"
	}
	return "subscribe"
}

// Identity is who a connection authenticated as.
type Identity struct {
	Subject string         // user id; empty for anonymous
	Claims  map[string]any // attributes the handlers and Authorize may use
	// Expires is when the credentials end: the connection is closed then
	// unless they were refreshed in band (docs/security.md). Zero: never.
	Expires time.Time
	// Permissions restrict what the connection may publish, subscribe to
	// and call; nil leaves every decision to Authorize and AuthorizeCall.
	Permissions *Permissions
}

// ConnectRequest is what OnConnect sees of a new connection.
type ConnectRequest struct {
	RemoteAddr string
	Header     http.Header // the handshake's headers (cookies included)
	Protocol   string      // "herald.v1", "chat", "text", ...
	Transport  string      // "websocket", "tcp", ...
	Login      string      // STOMP login or MQTT username, when present
	Passcode   string      // STOMP passcode or MQTT password, when present
	Path       string      // the WebSocket handshake's URL path (which endpoint or gateway route)
	Refresh    bool        // an in-band refresh of a live connection; Passcode holds the new token
	// TLS is the connection's TLS state when the client came over TLS,
	// nil otherwise. With client certificates requested (tls.Config
	// ClientAuth on the listener; the binary's tls.client_auth for STOMP
	// and MQTT), PeerCertificates[0] is the client's verified certificate:
	// an Authenticator may take the identity from it.
	TLS *tls.ConnectionState
}

// Options configure a Server. The zero value is safe: same-origin only,
// bounded sizes and queues, anonymous access allowed (set Authenticator
// or OnConnect to authenticate). With no authenticator every connection
// is anonymous and may do everything Authorize allows: the zero Options
// are for development and for same-origin apps whose data is public.
type Options struct {
	// AllowedOrigins lists browser origins allowed besides the server's
	// own, as path.Match patterns on the host ("*.example.com",
	// "localhost:*") or on the whole origin ("https://app.example.com").
	// "*" allows every origin: only for public, unauthenticated data.
	AllowedOrigins []string

	// Authenticator authenticates every connection, on every protocol,
	// before it is accepted (auth.go); NewJWTAuthenticator is one. When
	// it is set, connections without credentials are refused unless
	// Anonymous is set.
	Authenticator Authenticator
	// Anonymous admits connections that present no credentials (the
	// Authenticator returned ErrNoCredentials) as anonymous, restricted
	// to AnonymousPermissions when those are set. Both only matter with
	// an authenticator: without one every connection is anonymous.
	Anonymous            bool
	AnonymousPermissions *Permissions

	// OnConnect authenticates a connection before it is accepted. Return
	// an error (wrapping ErrUnauthorized or ErrForbidden) to refuse it.
	// It is the same as Authenticator: AuthenticatorFunc(OnConnect), and
	// is ignored when Authenticator is set.
	OnConnect func(ctx context.Context, r *ConnectRequest) (Identity, error)
	// Authorize decides whether a client may subscribe to a filter or
	// publish to a topic. Nil allows everything.
	Authorize func(ctx context.Context, c *Client, a Action, topic string) error
	// AuthorizeCall decides whether a client may call a request handler
	// (after the identity's Permissions.Call allowed it). Nil allows.
	AuthorizeCall func(ctx context.Context, c *Client, method string) error

	MaxMessageSize int // inbound message size limit; default 64 KiB (WebSocket close 1009 beyond)
	QueueMessages  int // outbound frames waiting per connection; default 1024
	QueueBytes     int // outbound bytes waiting per connection; default 4 MiB
	SlowConsumer   SlowConsumerPolicy
	MaxInFlight    int // requests queued per connection; default 256

	HistorySize int           // messages kept per topic for resume; default 100, negative keeps none
	HistoryTTL  time.Duration // how long they are kept; default 10 minutes

	PingInterval   time.Duration // keep-alive pings to quiet connections; default 25s
	IdleTimeout    time.Duration // a connection silent this long is closed; default 60s
	WriteTimeout   time.Duration // for connections served by goroutines (TLS); default 10s
	RequestTimeout time.Duration // handler deadline; default 30s

	Workers            int  // goroutines running handlers; default 4×GOMAXPROCS
	DisableCompression bool // refuse permessage-deflate

	// STOMP configures the STOMP adapter (WebSocket subprotocols
	// v10.stomp, v11.stomp, v12.stomp and stomp; ServeSTOMP listeners).
	STOMP STOMPOptions

	// MQTT configures the MQTT adapter (WebSocket subprotocols mqtt and
	// mqttv3.1; ServeMQTT listeners).
	MQTT MQTTOptions

	// Limits bound connections, handshakes, message rates and
	// subscriptions (limits.go).
	Limits Limits
	// TrustedProxies are reverse proxies (addresses or CIDRs, such as
	// "10.0.0.0/8") whose X-Forwarded-For and Forwarded headers say who
	// the client is; from anyone else those headers are ignored. The
	// client address is what OnConnect, Client.RemoteAddr and logs see.
	TrustedProxies []string

	// Cluster joins this server to other Herald nodes over NATS
	// (cluster.go, docs/cluster.md). The zero value: a single node.
	Cluster ClusterOptions

	Logger *slog.Logger // default: discard

	// DataDir, if set, keeps MQTT sessions and retained messages, STOMP
	// queues, durable topics' history and long-poll and streaming
	// sessions on disk across restarts (see
	// Durability and docs/durability.md). Create such a server with
	// Open, which reports a store it cannot use (New panics).
	DataDir    string
	Durability Durability

	durable *durableState // set by Open
}
