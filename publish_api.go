package herald

import (
	"context"
	"errors"
	"net/http"

	"github.com/heraldhq/herald/internal/httpx"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/pubapi"
	"github.com/heraldhq/herald/internal/router"
)

// PublishAPIOptions configure the HTTP publish API (PublishHandler). The
// zero value is safe: with no keys and no server Authenticator the API
// is disabled.
type PublishAPIOptions struct {
	// Keys are the accepted API keys, sent as "Authorization: Bearer
	// <key>" and compared in constant time. With none, every request
	// gets 404, unless AllowLoopbackWithoutKey or the server has an
	// Authenticator (see KeysOnly).
	Keys []string
	// AllowLoopbackWithoutKey, when Keys is empty, accepts requests from
	// loopback addresses without a key, except requests carrying proxy
	// headers (Forwarded, X-Forwarded-For, X-Real-IP). Do not set it
	// behind a reverse proxy on the same machine that strips those
	// headers: every request would then look local.
	AllowLoopbackWithoutKey bool
	// MaxBodyBytes bounds a request (413 beyond); default 1 MiB.
	MaxBodyBytes int64
	// MaxBatch bounds the messages of one request; default 1000.
	MaxBatch int
	// KeysOnly refuses the server's Authenticator credentials: only Keys
	// (or loopback) authorize. By default, a request whose Bearer value
	// is not a key, or that has no Authorization header, is
	// authenticated by the server's Authenticator like an SSE request,
	// and may publish to the topics its identity may publish to.
	KeysOnly bool
}

// PublishHandler returns the HTTP publish API, through which a backend
// in any language publishes to every subscriber on every protocol.
// Mount it for POST:
//
//	mux.Handle("POST /api/publish", srv.PublishHandler(herald.PublishAPIOptions{Keys: keys}))
//
// (Mount it for OPTIONS too when pages of other allowed origins publish
// with tokens: it answers their CORS preflight.)
//
// The body is one message or a JSON array of them:
//
//	{"topic": "orders/42", "data": <any JSON>, "encoding": "base64"?, "headers": {"k": "v"}?}
//
// data maps to bytes as the native publish method does: a string is
// text, a string with "encoding": "base64" is bytes, anything else is
// JSON. The answer is {"topic","epoch","seq"}, or an array of them in
// order; errors are {"error": {"code","message"}} with 400, 401, 403,
// 404 (disabled), 405, 413, 415 or 503. With an API key, messages are
// published for the server, as Publish does: the Authorize hook is not
// consulted, the key is the authority. With a token of the server's
// Authenticator (publish_auth.go), each topic needs the identity's
// publish permission and Authorize's consent, as for a connection; a
// refused topic is 403 and nothing of the request is published. See
// docs/http-api.md.
func (s *Server) PublishHandler(o PublishAPIOptions) http.Handler {
	var authn pubapi.Authenticator
	var preflight http.HandlerFunc
	if !o.KeysOnly {
		authn = s.publishAuthenticator()
	}
	if authn != nil {
		preflight = func(w http.ResponseWriter, r *http.Request) {
			httpx.Preflight(w, r, s.opts.AllowedOrigins, "POST")
		}
	}
	return pubapi.New(pubapi.Options{
		Authenticate: authn,
		Preflight:    preflight,
		Keys:         o.Keys,
		Loopback:     o.AllowLoopbackWithoutKey,
		MaxBody:      o.MaxBodyBytes,
		MaxBatch:     o.MaxBatch,
		Logger:       s.core.Logger(),
		Publish: func(ctx context.Context, m *message.Message) error {
			err := s.core.Publish(ctx, nil, m)
			if errors.Is(err, router.ErrClosed) {
				return ErrServerClosed
			}
			return err
		},
	})
}
