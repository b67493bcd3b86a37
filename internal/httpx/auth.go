package httpx

import (
	"context"
	"errors"
	"net/http"

	"github.com/heraldhq/herald/internal/core"
)

// ConnectHeader is the header a connect hook sees for r. A token in the
// access_token query parameter (what EventSource, which cannot set
// headers, may use) becomes "Authorization: Bearer <token>" unless the
// request has an Authorization header already. For Public access the
// cookies are left out.
//
// Tokens in URLs end up in access logs: prefer cookies for browsers.
func ConnectHeader(r *http.Request, a Access) http.Header {
	h := r.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if tok := r.URL.Query().Get("access_token"); tok != "" && h.Get("Authorization") == "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	if a != Trusted {
		h.Del("Cookie")
	}
	return h
}

// Connect runs the server's connect hook for an HTTP transport. On
// refusal it answers 401 (core.ErrUnauthorized) or 403 and returns false.
func Connect(ctx context.Context, w http.ResponseWriter, r *http.Request, c *core.Core, a Access, protocol, transport string) (core.Identity, bool) {
	id, err := c.Connect(ctx, &core.ConnectInfo{
		RemoteAddr: c.ClientAddr(r), Header: ConnectHeader(r, a),
		Protocol: protocol, Transport: transport, Path: r.URL.Path, TLS: r.TLS,
	})
	if err != nil {
		c.Rejected()
		if errors.Is(err, core.ErrUnauthorized) {
			Error(w, http.StatusUnauthorized, "unauthorized", err.Error())
		} else {
			Error(w, http.StatusForbidden, "forbidden", err.Error())
		}
		return core.Identity{}, false
	}
	return id, true
}
