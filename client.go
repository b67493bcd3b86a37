package herald

import (
	"context"
	"net/http"

	"github.com/heraldhq/herald/internal/core"
)

// Client is the connection a request or hook comes from: its request
// scope, which WebSocket callbacks otherwise lose once the handshake is
// over.
type Client struct {
	ID         string // session id, unique per connection
	Identity   Identity
	RemoteAddr string
	Protocol   string
	Transport  string
	scope      *core.Scope
}

func clientOf(s *core.Scope) *Client {
	return &Client{
		ID:         s.SessionID,
		Identity:   identityOf(s.Current()),
		RemoteAddr: s.RemoteAddr,
		Protocol:   s.Protocol,
		Transport:  s.Transport,
		scope:      s,
	}
}

// Header returns the headers of the handshake that opened the connection.
func (c *Client) Header() http.Header { return c.scope.Header() }

// Cookies returns the handshake's cookies.
func (c *Client) Cookies() []*http.Cookie { return c.scope.Cookies() }

// ClientFromContext returns the client a handler's context belongs to.
func ClientFromContext(ctx context.Context) (*Client, bool) {
	s, ok := core.ScopeFrom(ctx)
	if !ok {
		return nil, false
	}
	return clientOf(s), true
}
