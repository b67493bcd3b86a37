package herald

import (
	"context"
	"errors"
	"fmt"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/core"
)

// Authenticator decides who a connection is before it is accepted, on
// every protocol alike: the WebSocket and gateway handshakes, SSE,
// long-poll and streaming requests, STOMP CONNECT and MQTT CONNECT, and
// each request to the HTTP publish API that presents no API key
// (Protocol "publish-api", Transport "http"; publish_auth.go). It is
// asked again, with ConnectRequest.Refresh set, when a connected client
// refreshes its token in band.
//
// Return ErrNoCredentials (or an error wrapping it) when the request
// carries no credentials at all, so that Options.Anonymous can admit it;
// an error wrapping ErrUnauthorized for bad credentials (HTTP 401, STOMP
// ERROR, MQTT CONNACK 0x86 or 3.1.1 0x04); ErrForbidden for an identity
// that may not connect (403, MQTT 0x87 or 0x05).
type Authenticator interface {
	Authenticate(ctx context.Context, r *ConnectRequest) (Identity, error)
}

// AuthenticatorFunc adapts a function to Authenticator (cookie sessions,
// API keys, a call to the application's own user store).
type AuthenticatorFunc func(ctx context.Context, r *ConnectRequest) (Identity, error)

// Authenticate implements Authenticator.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, r *ConnectRequest) (Identity, error) {
	return f(ctx, r)
}

// Permissions say what an identity may do. Topic patterns are MQTT
// filters ("chat/+", "orders/#"); STOMP queues are the topics
// "/queue/<name>". A publication needs a Publish pattern matching its
// topic; a subscription needs a Subscribe pattern covering every topic
// its filter can match (a grant of "a/+" does not allow subscribing to
// "a/#"). Call patterns are path.Match globs on method names
// ("orders.*"); "#" allows every method. The zero value allows nothing.
type Permissions struct {
	Publish   []string
	Subscribe []string
	Call      []string
}

// ErrNoCredentials is what an Authenticator returns for a request with
// no credentials; Options.Anonymous decides whether it is admitted.
var ErrNoCredentials = fmt.Errorf("%w: no credentials", ErrUnauthorized)

// BearerToken returns the token a connection presents: the STOMP
// passcode or MQTT password, an "Authorization: Bearer" header (an
// access_token query parameter arrives as one), or the named cookie
// (cookie may be empty). Cookies of cross-origin requests that are not
// explicitly allowed never reach the authenticator (docs/security.md).
func (r *ConnectRequest) BearerToken(cookie string) string {
	tok, _ := auth.Token(r.Header, cookie, r.Passcode)
	return tok
}

func (s *Server) authenticator() Authenticator {
	if s.opts.Authenticator != nil {
		return s.opts.Authenticator
	}
	if s.opts.OnConnect != nil {
		return AuthenticatorFunc(s.opts.OnConnect)
	}
	return nil
}

func (s *Server) connectHook() func(context.Context, *core.ConnectInfo) (core.Identity, error) {
	a := s.authenticator()
	if a == nil {
		return nil
	}
	return func(ctx context.Context, i *core.ConnectInfo) (core.Identity, error) {
		id, err := a.Authenticate(ctx, &ConnectRequest{
			RemoteAddr: i.RemoteAddr, Header: i.Header, Protocol: i.Protocol,
			Transport: i.Transport, Login: i.Login, Passcode: i.Passcode, Path: i.Path,
			Refresh: i.Refresh, TLS: i.TLS,
		})
		if err != nil {
			if errors.Is(err, ErrNoCredentials) && s.opts.Anonymous && !i.Refresh {
				id = Identity{Permissions: s.opts.AnonymousPermissions}
			} else {
				return core.Identity{}, err
			}
		}
		return coreIdentity(id)
	}
}

// coreIdentity checks the permissions' patterns once, at connect time.
func coreIdentity(id Identity) (core.Identity, error) {
	ci := core.Identity{Subject: id.Subject, Claims: id.Claims, Expires: id.Expires}
	if id.Permissions != nil {
		p := auth.Permissions(*id.Permissions)
		if err := p.Validate(); err != nil {
			return core.Identity{}, fmt.Errorf("herald: the authenticator's permissions: %w", err)
		}
		ci.Permissions = &p
	}
	return ci, nil
}

func identityOf(id core.Identity) Identity {
	out := Identity{Subject: id.Subject, Claims: id.Claims, Expires: id.Expires}
	if id.Permissions != nil {
		p := Permissions(*id.Permissions)
		out.Permissions = &p
	}
	return out
}

// authorizeHook applies the identity's permissions, then Authorize. The
// same hook serves every protocol (core.Authorize).
func (s *Server) authorizeHook() func(context.Context, *core.Scope, core.Action, string) error {
	if s.authenticator() == nil && s.opts.Authorize == nil && s.opts.AnonymousPermissions == nil {
		return nil
	}
	return func(ctx context.Context, sc *core.Scope, a core.Action, topic string) error {
		if p := sc.Current().Permissions; p != nil {
			ok := p.CanSubscribe(topic)
			if a == core.ActionPublish {
				ok = p.CanPublish(topic)
			}
			if !ok {
				return fmt.Errorf("%w: not permitted to %s %q", ErrForbidden, a, topic)
			}
		}
		if s.opts.Authorize != nil {
			return s.opts.Authorize(ctx, clientOf(sc), Action(a), topic)
		}
		return nil
	}
}

// authorizeCall runs before a request handler: the identity's Call
// permissions, then AuthorizeCall. A refusal reaches the client as
// JSON-RPC -32003 (CodeForbidden) on every protocol.
func (s *Server) authorizeCall(ctx context.Context, method string) error {
	sc, ok := core.ScopeFrom(ctx)
	if !ok {
		return nil
	}
	if p := sc.Current().Permissions; p != nil && !p.CanCall(method) {
		return fmt.Errorf("%w: not permitted to call %q", ErrForbidden, method)
	}
	if s.opts.AuthorizeCall != nil {
		return s.opts.AuthorizeCall(ctx, clientOf(sc), method)
	}
	return nil
}
