package herald

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/heraldhq/herald/internal/gateway"
)

// GatewayRoute configures a WebSocket-to-TCP gateway endpoint: every
// WebSocket connection to it is spliced, full duplex, to a new TCP
// connection to Backend (see GatewayHandler). The zero value of every
// field but Backend is a safe default.
type GatewayRoute struct {
	// Backend is the TCP service, host:port. Only this address is ever
	// dialled: clients cannot choose where they go.
	Backend string
	// Name labels the route's metrics (herald_gateway_*{route=...});
	// default Backend. The binary uses the route's path.
	Name string
	// AllowedOrigins lists the browser origins allowed besides the
	// server's own, as Options.AllowedOrigins; nil means the server's.
	AllowedOrigins []string
	// AuthRequired makes the server's OnConnect hook decide: it must
	// accept the handshake, or the client gets 401 (ErrUnauthorized) or
	// 403 before the upgrade. Without it the route is open and its
	// clients are anonymous; the hook is not consulted.
	AuthRequired bool
	// MaxConns bounds the route's connections; beyond it handshakes get
	// 503. 0 means 1024, negative means no limit.
	MaxConns int
	// ConnectTimeout bounds connecting to the backend (TLS handshake
	// included); default 10s. A backend that cannot be reached closes the
	// client with 1014 "backend unavailable".
	ConnectTimeout time.Duration
	// IdleTimeout closes a connection that moved no bytes either way for
	// this long (1001 "idle timeout"); default 5 minutes.
	IdleTimeout time.Duration
	// TLS, when not nil, makes the backend connection TLS. The server
	// name defaults to Backend's host.
	TLS *tls.Config
	// Subprotocols are WebSocket subprotocols accepted besides "binary"
	// and "base64", in binary mode: MQTT clients insist on "mqtt".
	Subprotocols []string
	// MaxMessageSize bounds a client's message; 0 means the server's
	// MaxMessageSize.
	MaxMessageSize int
	// Buffer is how many bytes may wait for a slow client before the
	// backend is no longer read; default 256 KiB.
	Buffer int
}

// GatewayHandler returns a WebSocket endpoint that splices each
// connection to a new TCP connection to r.Backend, as Kaazing Gateway
// let browsers reach IMAP or JMS brokers. Mount it where clients
// connect:
//
//	mux.Handle("GET /tcp/mail", srv.GatewayHandler(herald.GatewayRoute{Backend: "127.0.0.1:143"}))
//
// Binary messages carry the bytes; the "base64" subprotocol carries
// base64 text for clients without binary support. Flow is controlled
// both ways with bounded buffers and nothing is dropped; a client's close
// frame half-closes the backend; idle connections cost no goroutine. It
// panics if r.Backend is not host:port, like a bad mux pattern.
func (s *Server) GatewayHandler(r GatewayRoute) http.Handler {
	s.gwOnce.Do(func() { s.gw = gateway.New(s.core, s.metrics) })
	h, err := s.gw.Handler(gateway.Route{
		Name:           r.Name,
		Backend:        r.Backend,
		AllowedOrigins: r.AllowedOrigins,
		AuthRequired:   r.AuthRequired,
		MaxConns:       r.MaxConns,
		ConnectTimeout: r.ConnectTimeout,
		IdleTimeout:    r.IdleTimeout,
		TLS:            r.TLS,
		Subprotocols:   r.Subprotocols,
		MaxMessage:     r.MaxMessageSize,
		Buffer:         r.Buffer,
	})
	if err != nil {
		panic(fmt.Sprintf("herald: GatewayHandler: %v", err))
	}
	return h
}
