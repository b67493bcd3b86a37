package pubapi

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"strings"
	"testing"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/core"
)

// tokenAuth is an Authenticator of fixed tokens: "tok-<glob>" may
// publish to the topics path.Match(glob) allows, "expired" is refused as
// expired, "denied" is an identity that may not publish at all, and the
// cookie "sess" carries a token too. It records what it was shown.
type tokenAuth struct{ seen []string }

func (a *tokenAuth) authenticate(w http.ResponseWriter, r *http.Request) (Authorize, error) {
	if r.Header.Get("Origin") == "https://evil.example" {
		return nil, fmt.Errorf("%w: %q", ErrOriginDenied, r.Header.Get("Origin"))
	}
	tok, _ := auth.Token(r.Header, "sess", "") // as the JWT authenticator finds it
	a.seen = append(a.seen, tok)
	switch {
	case tok == "":
		return nil, fmt.Errorf("%w: %w", core.ErrUnauthorized, ErrNoCredentials)
	case tok == "expired":
		return nil, fmt.Errorf("%w: token expired", core.ErrUnauthorized)
	case tok == "denied":
		return nil, fmt.Errorf("%w: account disabled", core.ErrForbidden)
	case strings.HasPrefix(tok, "tok-"):
		glob := strings.TrimPrefix(tok, "tok-")
		return func(_ context.Context, topic string) error {
			if ok, _ := path.Match(glob, topic); !ok {
				return fmt.Errorf("%w: not permitted to publish %q", core.ErrForbidden, topic)
			}
			return nil
		}, nil
	}
	return nil, fmt.Errorf("%w: token is malformed", core.ErrUnauthorized)
}

// TestAuthenticator: keys first, then the Authenticator, then the
// key or loopback rules for requests without credentials.
func TestAuthenticator(t *testing.T) {
	const one, two = `{"topic":"chat/a","data":1}`, `[{"topic":"chat/a","data":1},{"topic":"news/x","data":2}]`
	type opts struct {
		keys     []string
		loopback bool
	}
	keyed, bare, local := opts{keys: []string{"k1"}}, opts{}, opts{loopback: true}
	tests := []struct {
		name     string
		o        opts
		c        call
		status   int
		code     string
		msg      string
		authSaw  string // the token the Authenticator saw; "-" when not asked
		wwwAuth  string // substring of WWW-Authenticate
		messages int
	}{
		{"key bypasses the authenticator", keyed, call{body: two, auth: "Bearer k1"}, 200, "", "", "-", "", 2},
		{"token publishes", keyed, call{body: one, auth: "Bearer tok-chat/*"}, 200, "", "", "tok-chat/*", "", 1},
		{"token without keys", bare, call{body: one, auth: "Bearer tok-chat/*"}, 200, "", "", "tok-chat/*", "", 1},
		{"cookie", bare, call{body: one, hdr: map[string]string{"Cookie": "sess=tok-chat/*"}}, 200, "", "", "tok-chat/*", "", 1},
		{"topic not permitted", keyed, call{body: `{"topic":"news/x","data":1}`, auth: "Bearer tok-chat/*"}, 403, "forbidden", `not permitted to publish "news/x"`, "tok-chat/*", "", 0},
		{"batch with one topic not permitted", keyed, call{body: two, auth: "Bearer tok-chat/*"}, 403, "forbidden", "message 1: ", "tok-chat/*", "", 0},
		{"expired", keyed, call{body: one, auth: "Bearer expired"}, 401, "unauthorized", "expired", "expired", `error="invalid_token"`, 0},
		{"malformed", bare, call{body: one, auth: "Bearer junk"}, 401, "unauthorized", "malformed", "junk", `error="invalid_token"`, 0},
		{"identity refused", bare, call{body: one, auth: "Bearer denied"}, 403, "forbidden", "disabled", "denied", "", 0},
		{"origin refused", bare, call{body: one, auth: "Bearer tok-#", hdr: map[string]string{"Origin": "https://evil.example"}}, 403, "origin_not_allowed", "evil", "-", "", 0},
		{"no credentials, keys", keyed, call{body: one}, 401, "unauthorized", "API key or a token", "", `realm="herald"`, 0},
		{"no credentials, no keys", bare, call{body: one}, 401, "unauthorized", "credentials are required", "", `realm="herald"`, 0},
		{"no credentials, loopback", local, call{body: one, remote: "127.0.0.1:9"}, 200, "", "", "", "", 1},
		{"no credentials, remote, loopback mode", local, call{body: one, remote: "192.0.2.1:9"}, 401, "unauthorized", "credentials are required", "", "", 0},
		{"token from remote, loopback mode", local, call{body: one, auth: "Bearer tok-chat/*", remote: "192.0.2.1:9"}, 200, "", "", "tok-chat/*", "", 1},
		{"size limit applies to tokens", bare, call{body: `{"topic":"chat/a","data":"` + strings.Repeat("x", 300) + `"}`, auth: "Bearer tok-chat/*"}, 413, "too_large", "", "tok-chat/*", "", 0},
		{"batch limit applies to tokens", bare, call{body: `[` + strings.Repeat(one+",", 3) + one + `]`, auth: "Bearer tok-chat/*"}, 400, "bad_request", "at most 3", "tok-chat/*", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, a := &recorder{}, &tokenAuth{}
			h := New(Options{Keys: tt.o.keys, Loopback: tt.o.loopback, MaxBody: 200, MaxBatch: 3, Publish: rec.publish, Authenticate: a.authenticate})
			w, body := do(t, h, tt.c)
			e, _ := body["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if w.Code != tt.status || errCode(body) != tt.code || !strings.Contains(msg, tt.msg) {
				t.Fatalf("%d %s, want %d %q containing %q", w.Code, w.Body, tt.status, tt.code, tt.msg)
			}
			if len(rec.msgs) != tt.messages {
				t.Fatalf("%d messages published, want %d", len(rec.msgs), tt.messages)
			}
			switch {
			case tt.authSaw == "-" && len(a.seen) != 0:
				t.Fatalf("the authenticator was asked (%q)", a.seen)
			case tt.authSaw != "-" && (len(a.seen) != 1 || a.seen[0] != tt.authSaw):
				t.Fatalf("the authenticator saw %q, want %q", a.seen, tt.authSaw)
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.Contains(got, tt.wwwAuth) || (tt.status == 401) != (got != "") {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tt.wwwAuth)
			}
		})
	}
}

// TestAuthenticatorEnables: an Authenticator alone enables the API.
func TestAuthenticatorEnables(t *testing.T) {
	a := &tokenAuth{}
	h := New(Options{Publish: (&recorder{}).publish, Authenticate: a.authenticate})
	if w, body := do(t, h, call{body: `{"topic":"a","data":1}`, remote: "127.0.0.1:5000"}); w.Code != 401 || errCode(body) != "unauthorized" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
