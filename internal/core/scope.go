package core

import (
	"bufio"
	"context"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/heraldhq/herald/internal/auth"
)

// Identity is who a connection authenticated as.
type Identity struct {
	Subject     string            // user id; "" for anonymous
	Claims      map[string]any    // token claims or attributes set by the connect hook
	Expires     time.Time         // the credentials' end; zero: they do not expire (identity.go)
	Permissions *auth.Permissions // what the identity may do; nil: not restricted here
}

// Scope is a connection's request scope: what a handler needs to know about
// the caller when a message arrives (the handshake request is long gone).
type Scope struct {
	SessionID  string
	Identity   Identity
	RemoteAddr string
	Protocol   string        // subprotocol or listener protocol: "herald.v1", "chat", "text", "stomp", "mqtt"
	Transport  string        // "websocket", "tcp", ...
	live       *liveIdentity // the identity after an in-band refresh (identity.go)
	header     string        // compact "Key: value\r\n" block; parsed on demand to keep idle connections small
}

// handshakeOnly are headers that say nothing about the caller once the
// connection is up; they are not kept.
var handshakeOnly = map[string]bool{
	"Upgrade": true, "Connection": true, "Sec-Websocket-Key": true,
	"Sec-Websocket-Version": true, "Sec-Websocket-Extensions": true,
	"Sec-Websocket-Protocol": true, // kept as Scope.Protocol
}

// SetHeader keeps h's caller-relevant entries in compact form.
func (s *Scope) SetHeader(h http.Header) {
	n := 0
	for k, vs := range h {
		if !handshakeOnly[k] {
			for _, v := range vs {
				n += len(k) + len(v) + 4
			}
		}
	}
	var b strings.Builder
	b.Grow(n) // exact: the block lives as long as the connection
	for k, vs := range h {
		if handshakeOnly[k] {
			continue
		}
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteString("\r\n")
		}
	}
	s.header = b.String()
}

// Header returns the handshake's headers (a fresh map on each call).
func (s *Scope) Header() http.Header {
	if s.header == "" {
		return http.Header{}
	}
	r := textproto.NewReader(bufio.NewReader(strings.NewReader(s.header + "\r\n")))
	h, err := r.ReadMIMEHeader()
	if err != nil && h == nil {
		return http.Header{}
	}
	return http.Header(h)
}

// Cookies parses the handshake's cookies.
func (s *Scope) Cookies() []*http.Cookie {
	return (&http.Request{Header: s.Header()}).Cookies()
}

type scopeKey struct{}

// WithScope returns a context carrying s.
func WithScope(ctx context.Context, s *Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// ScopeFrom returns the scope in ctx, if any.
func ScopeFrom(ctx context.Context) (*Scope, bool) {
	s, ok := ctx.Value(scopeKey{}).(*Scope)
	return s, ok
}
