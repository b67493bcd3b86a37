// Package httpx holds what Herald's plain-HTTP transports (SSE, HTTP
// streaming, long polling) share: the cross-origin policy, the
// credentials a connect hook sees, and JSON error responses.
package httpx

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/heraldhq/herald/internal/core"
)

// Access is what the origin policy grants a request.
type Access uint8

const (
	// Denied: a browser page from an origin that is not allowed.
	Denied Access = iota
	// Public: allowed only by the "*" pattern. The response may be read
	// by any page, so it is sent without credentials
	// (Access-Control-Allow-Origin: *) and the request's cookies are not
	// shown to the connect hook: "*" is for public data only.
	Public
	// Trusted: no Origin (not a browser), the server's own origin, or an
	// origin matched by a pattern other than "*". The origin is echoed
	// with Access-Control-Allow-Credentials: true.
	Trusted
)

// Check applies the origin policy of core.OriginAllowed to r and sets the
// CORS response headers accordingly. A wildcard is never combined with
// credentials.
func Check(w http.ResponseWriter, r *http.Request, allowed []string) Access {
	origin := r.Header.Get("Origin")
	h := w.Header()
	if origin != "" {
		h.Add("Vary", "Origin")
	}
	explicit := slices.DeleteFunc(slices.Clone(allowed), func(p string) bool { return p == "*" })
	switch {
	case origin == "":
		return Trusted
	case core.OriginAllowed(r, explicit):
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		return Trusted
	case slices.Contains(allowed, "*"):
		h.Set("Access-Control-Allow-Origin", "*")
		return Public
	}
	return Denied
}

// Preflight answers an OPTIONS request: which methods and headers a page
// of an allowed origin may use, cached for ten minutes. A refused origin
// gets 403.
func Preflight(w http.ResponseWriter, r *http.Request, allowed []string, methods string) {
	if Check(w, r, allowed) == Denied {
		Error(w, http.StatusForbidden, "origin_not_allowed", "origin "+strconv.Quote(r.Header.Get("Origin"))+" is not allowed")
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", methods)
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}
