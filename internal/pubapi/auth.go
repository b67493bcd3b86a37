package pubapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/core"
)

// Authorize says whether the authenticated identity may publish to topic;
// an error refuses it (403).
type Authorize func(ctx context.Context, topic string) error

// Authenticator verifies the credentials of a request that presents no
// API key, the way the server's other HTTP transports do, and returns
// the identity's publish check. It may set CORS headers on w. Errors:
// ErrNoCredentials when the request carries none (the API then falls
// back to its key or loopback rules), ErrOriginDenied (403), an error
// wrapping core.ErrUnauthorized (401 with WWW-Authenticate), anything
// else 403.
type Authenticator func(w http.ResponseWriter, r *http.Request) (Authorize, error)

// Errors an Authenticator returns besides core's.
var (
	ErrNoCredentials = errors.New("no credentials")
	ErrOriginDenied  = errors.New("origin not allowed")
)

// authenticate decides who r is: the server itself (an API key, or a
// loopback client when that is allowed; authorize is nil), an identity
// of the Authenticator (authorize checks its topics), or no one (a
// non-zero status, code and message).
//
// A Bearer value that is a configured key is a key; anything else goes
// to the Authenticator when there is one. Keys are matched first, in
// constant time, so a key never reaches the Authenticator's logs.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) (authorize Authorize, status int, code, msg string) {
	tok, src := auth.Token(r.Header, "", "")
	if src == auth.FromHeader && len(h.keys) > 0 && h.isKey(tok) {
		return nil, 0, "", ""
	}
	if h.o.Authenticate != nil {
		az, err := h.o.Authenticate(w, r)
		switch {
		case err == nil:
			return az, 0, "", ""
		case errors.Is(err, ErrOriginDenied):
			return nil, http.StatusForbidden, "origin_not_allowed", err.Error()
		case errors.Is(err, core.ErrUnauthorized) && !errors.Is(err, ErrNoCredentials):
			// RFC 6750: the token was presented and refused
			// (expired, bad signature, wrong audience).
			w.Header().Set("WWW-Authenticate", `Bearer realm="herald", error="invalid_token"`)
			return nil, http.StatusUnauthorized, "unauthorized", err.Error()
		case !errors.Is(err, ErrNoCredentials):
			return nil, http.StatusForbidden, "forbidden", err.Error()
		}
	}
	// No credentials the Authenticator accepts (or no Authenticator).
	switch {
	case len(h.keys) == 0 && h.o.Loopback && loopback(r):
		return nil, 0, "", ""
	case len(h.keys) == 0 && h.o.Loopback && h.o.Authenticate == nil:
		return nil, http.StatusForbidden, "forbidden", "without API keys the publish API accepts local clients only"
	case len(h.keys) == 0:
		return nil, http.StatusUnauthorized, "unauthorized", "credentials are required: Authorization: Bearer <token>"
	case src != auth.FromHeader:
		if h.o.Authenticate != nil {
			return nil, http.StatusUnauthorized, "unauthorized", "an API key or a token is required: Authorization: Bearer <key or token>"
		}
		return nil, http.StatusUnauthorized, "unauthorized", "an API key is required: Authorization: Bearer <key>"
	}
	return nil, http.StatusUnauthorized, "unauthorized", "the API key is not valid"
}

func (h *handler) isKey(tok string) bool {
	sum := sha256.Sum256([]byte(tok))
	match := 0
	for i := range h.keys {
		// Every key is compared, so the time says nothing about which
		// one matched.
		match |= subtle.ConstantTimeCompare(sum[:], h.keys[i][:])
	}
	return match == 1
}

// loopback reports whether r comes from this machine directly, not
// through a local reverse proxy (which would make everyone local).
func loopback(r *http.Request) bool {
	for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if r.Header.Get(k) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
