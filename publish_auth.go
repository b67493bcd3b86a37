package herald

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/httpx"
	"github.com/heraldhq/herald/internal/pubapi"
)

// The ConnectRequest's Protocol and Transport for a publish API request,
// so an Authenticator can tell it from a connection.
const (
	publishAPIProtocol  = "publish-api"
	publishAPITransport = "http"
)

// publishAuthenticator lets the publish API accept the server's
// Authenticator credentials, taken from the request exactly as the SSE
// and long-poll transports take them (httpx.Check, httpx.ConnectHeader:
// Authorization, access_token, cookies only from trusted origins), and
// checks each topic with the identity's permissions and Authorize, as a
// publication from a connection of that identity would be. Nil without
// an authenticator.
func (s *Server) publishAuthenticator() pubapi.Authenticator {
	a := s.authenticator()
	if a == nil {
		return nil
	}
	allowed := s.opts.AllowedOrigins
	return func(w http.ResponseWriter, r *http.Request) (pubapi.Authorize, error) {
		access := httpx.Check(w, r, allowed)
		if access == httpx.Denied {
			s.core.Rejected()
			return nil, fmt.Errorf("%w: origin %s", pubapi.ErrOriginDenied, strconv.Quote(r.Header.Get("Origin")))
		}
		req := &ConnectRequest{
			RemoteAddr: s.core.ClientAddr(r), Header: httpx.ConnectHeader(r, access),
			Protocol: publishAPIProtocol, Transport: publishAPITransport, Path: r.URL.Path, TLS: r.TLS,
		}
		id, err := a.Authenticate(r.Context(), req)
		if errors.Is(err, ErrNoCredentials) {
			// Anonymous identities do not publish through this API:
			// without credentials the API's own rules (keys, loopback)
			// decide.
			return nil, fmt.Errorf("%w: %w", pubapi.ErrNoCredentials, err)
		}
		if err != nil {
			s.core.Rejected()
			return nil, err
		}
		if id.Subject == "" {
			// An authenticator that admits everyone (an OnConnect that
			// returns Identity{} for strangers) must not open the API:
			// only an identity that is someone publishes with a token.
			return nil, fmt.Errorf("%w: the authenticator returned no subject", pubapi.ErrNoCredentials)
		}
		if !id.Expires.IsZero() && !id.Expires.After(time.Now()) {
			s.core.Rejected()
			return nil, fmt.Errorf("%w: credentials expired", ErrUnauthorized)
		}
		cid, err := coreIdentity(id)
		if err != nil {
			s.core.Logger().Error("publish API: authenticator", "err", err)
			return nil, fmt.Errorf("%w: %w", ErrForbidden, err)
		}
		scope := &core.Scope{
			SessionID: core.NewSessionID(), Identity: cid, RemoteAddr: req.RemoteAddr,
			Protocol: publishAPIProtocol, Transport: publishAPITransport,
		}
		scope.SetHeader(req.Header)
		return func(ctx context.Context, topic string) error {
			return s.core.Authorize(ctx, scope, core.ActionPublish, topic)
		}, nil
	}
}
