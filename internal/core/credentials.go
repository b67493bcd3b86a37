package core

import (
	"net/http"
	"slices"
)

// CredentialHeader is the handshake header the connect hook sees for a
// WebSocket request (and what the session keeps): a token in the
// access_token query parameter becomes "Authorization: Bearer <token>"
// unless the request has that header already, and the cookies are left
// out unless the request's origin is trusted.
//
// Trusted means: no Origin header (not a browser), the server's own
// origin, or an origin matched by an AllowedOrigins pattern other than
// "*". A page admitted only by "*" could otherwise ride on the user's
// cookies (cross-site WebSocket hijacking), so "*" is for public data
// and never authenticates by cookie; the HTTP transports apply the same
// rule (httpx.Check).
func CredentialHeader(r *http.Request, allowed []string) http.Header {
	tok := r.URL.Query().Get("access_token")
	strip := r.Header.Get("Cookie") != "" && r.Header.Get("Origin") != "" && !OriginAllowed(r, explicitOrigins(allowed))
	if (tok == "" || r.Header.Get("Authorization") != "") && !strip {
		return r.Header
	}
	h := r.Header.Clone()
	if tok != "" && h.Get("Authorization") == "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	if strip {
		h.Del("Cookie")
	}
	return h
}

func explicitOrigins(allowed []string) []string {
	if !slices.Contains(allowed, "*") {
		return allowed
	}
	return slices.DeleteFunc(slices.Clone(allowed), func(p string) bool { return p == "*" })
}

// InBand is implemented by adapters whose protocol authenticates once
// the transport is up (STOMP and MQTT CONNECT). Their WebSocket
// handshake is not put to the connect hook: the CONNECT is, once, with
// the handshake's headers (cookies, Authorization, access_token) as well
// as its own login and passcode, so every transport of the protocol
// authenticates the same way.
type InBand interface {
	AuthenticatesInBand()
}
