package herald_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/heraldhq/herald"
)

// startPublishAPI serves srv's WebSocket endpoint at /ws and its publish
// API at /api/publish.
func startPublishAPI(t *testing.T, opts herald.Options, po herald.PublishAPIOptions) (*herald.Server, string) {
	t.Helper()
	srv := herald.New(opts)
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	mux.Handle("POST /api/publish", srv.PublishHandler(po))
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return srv, hs.URL
}

type apiAnswer struct {
	status  int
	code    string // the error's code
	message string
	wwwAuth string
	seq     float64
}

// post sends body to the publish API with the given headers.
func post(t *testing.T, url, body string, h http.Header) apiAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil && !strings.HasPrefix(body, "[") {
		t.Fatalf("%d: the answer is not a JSON object: %v", resp.StatusCode, err)
	}
	a := apiAnswer{status: resp.StatusCode, wwwAuth: resp.Header.Get("WWW-Authenticate")}
	if e, ok := m["error"].(map[string]any); ok {
		a.code, _ = e["code"].(string)
		a.message, _ = e["message"].(string)
	}
	a.seq, _ = m["seq"].(float64)
	return a
}

// TestPublishAPIWithJWT: the publish API accepts the server's JWTs from
// every source the other HTTP transports accept, applies the token's
// publish permissions per topic and the Authorize hook, and keeps API
// keys as the server's authority.
func TestPublishAPIWithJWT(t *testing.T) {
	var mu sync.Mutex
	var seen []string // subject/transport/topic of every publication Authorize saw
	_, base := startPublishAPI(t, herald.Options{
		Authenticator: jwtAuth(t),
		Authorize: func(ctx context.Context, c *herald.Client, a herald.Action, topic string) error {
			if a == herald.Publish {
				mu.Lock()
				seen = append(seen, c.Identity.Subject+" "+c.Transport+" "+topic)
				mu.Unlock()
			}
			return nil
		},
	}, herald.PublishAPIOptions{Keys: []string{"the-api-key-0123456789"}})
	api := base + "/api/publish"
	sub := newRPCWith(t, base, bearer(chatter(t, time.Hour)))
	if r := sub.call(1, "subscribe", map[string]any{"topic": "chat/#"}); r["error"] != nil {
		t.Fatalf("subscribe: %v", r)
	}
	expectNote := func(topic, data string) {
		t.Helper()
		p := sub.note()["params"].(map[string]any)
		if p["topic"] != topic || p["data"] != data {
			t.Fatalf("the subscriber got %v, want %s %q", p, topic, data)
		}
	}

	tok := chatter(t, time.Hour)
	other := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "mallory", "aud": "herald-test", "exp": time.Now().Add(time.Hour).Unix(), "roles": []string{"chatter"}})
	other.Header["kid"] = "test"
	forged, err := other.SignedString([]byte("not-the-secret-0123456789abcdefgh"))
	if err != nil {
		t.Fatal(err)
	}
	reader := mint(t, "bob", time.Hour, map[string]any{"roles": []string{"reader"}})
	cookie := http.Header{"Cookie": {"herald_token=" + tok}}
	crossSite := http.Header{"Cookie": {"herald_token=" + tok}, "Origin": {"https://evil.example"}}

	tests := []struct {
		name    string
		url     string
		h       http.Header
		body    string
		status  int
		code    string
		message string
		wwwAuth string
		got     string // the data the subscriber receives, "" for none
	}{
		{"header", api, bearer(tok), `{"topic":"chat/room","data":"by header"}`, 200, "", "", "", "by header"},
		{"access_token", api + "?access_token=" + tok, nil, `{"topic":"chat/room","data":"by query"}`, 200, "", "", "", "by query"},
		{"cookie", api, cookie, `{"topic":"chat/room","data":"by cookie"}`, 200, "", "", "", "by cookie"},
		{"topic not permitted", api, bearer(tok), `{"topic":"news/today","data":"x"}`, 403, "forbidden", `not permitted to publish "news/today"`, "", ""},
		{"batch with a topic not permitted", api, bearer(tok), `[{"topic":"chat/room","data":"first"},{"topic":"chat/a/b","data":"x"}]`, 403, "forbidden", "message 1: ", "", ""},
		{"role without publish", api, bearer(reader), `{"topic":"chat/room","data":"x"}`, 403, "forbidden", "not permitted", "", ""},
		{"expired", api, bearer(chatter(t, -time.Hour)), `{"topic":"chat/room","data":"x"}`, 401, "unauthorized", "expired", `error="invalid_token"`, ""},
		{"wrong signature", api, bearer(forged), `{"topic":"chat/room","data":"x"}`, 401, "unauthorized", "", `error="invalid_token"`, ""},
		{"cross-site cookie", api, crossSite, `{"topic":"chat/room","data":"x"}`, 403, "origin_not_allowed", "evil.example", "", ""},
		{"no credentials", api, nil, `{"topic":"chat/room","data":"x"}`, 401, "unauthorized", "API key or a token", `realm="herald"`, ""},
		{"API key, any topic", api, bearer("the-api-key-0123456789"), `{"topic":"chat/room","data":"by key"}`, 200, "", "", "", "by key"},
		{"API key prefix is a bad token", api, bearer("the-api-key"), `{"topic":"chat/room","data":"x"}`, 401, "unauthorized", "", "", ""},
		{"size limit", api, bearer(tok), `{"topic":"chat/room","data":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "too_large", "", "", ""},
	}
	for _, tt := range tests {
		a := post(t, tt.url, tt.body, tt.h)
		if a.status != tt.status || a.code != tt.code || !strings.Contains(a.message, tt.message) || !strings.Contains(a.wwwAuth, tt.wwwAuth) {
			t.Fatalf("%s: %+v, want %d %q %q %q", tt.name, a, tt.status, tt.code, tt.message, tt.wwwAuth)
		}
		if tt.got != "" {
			expectNote("chat/room", tt.got)
		}
	}
	// Nothing refused was published: the next message is the last one.
	if a := post(t, api, `{"topic":"chat/room","data":"last"}`, bearer(tok)); a.status != 200 {
		t.Fatalf("last: %+v", a)
	}
	expectNote("chat/room", "last")

	mu.Lock()
	defer mu.Unlock()
	// Authorize saw the token's identity on transport "http" (the keyed
	// publication is the server's: not put to Authorize).
	want := []string{"alice http chat/room", "alice http chat/room", "alice http chat/room", "alice http chat/room", "alice http chat/room"}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("Authorize saw %q, want %q", seen, want)
	}
}

// TestPublishAPIWithRS256: an RS256 token's "herald" claim grants its
// topics; a token signed by another key is refused.
func TestPublishAPIWithRS256(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "rsa1.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := herald.NewJWTAuthenticator(herald.JWTOptions{Algorithms: []string{"RS256"}, KeyFiles: []string{file}, Issuer: "backend"})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(k *rsa.PrivateKey, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
		tok.Header["kid"] = "rsa1"
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	exp := time.Now().Add(time.Hour).Unix()
	_, base := startPublishAPI(t, herald.Options{Authenticator: a}, herald.PublishAPIOptions{})
	api := base + "/api/publish"
	sub := newRPCWith(t, base, bearer(sign(key, jwt.MapClaims{"sub": "ui", "iss": "backend", "exp": exp, "herald": map[string]any{"sub": []string{"orders/#"}}})))
	if r := sub.call(1, "subscribe", map[string]any{"topic": "orders/#"}); r["error"] != nil {
		t.Fatalf("subscribe: %v", r)
	}
	backend := sign(key, jwt.MapClaims{"sub": "billing", "iss": "backend", "exp": exp, "herald": map[string]any{"pub": []string{"orders/+"}}})
	for _, tt := range []struct {
		name, tok, body string
		status          int
	}{
		{"other key", sign(wrong, jwt.MapClaims{"sub": "billing", "iss": "backend", "exp": exp, "herald": map[string]any{"pub": []string{"#"}}}), `{"topic":"orders/1","data":"forged"}`, 401},
		{"topic not granted", backend, `{"topic":"orders/1/items","data":"x"}`, 403},
		{"granted", backend, `{"topic":"orders/1","data":{"paid":true}}`, 200},
	} {
		if a := post(t, api, tt.body, bearer(tt.tok)); a.status != tt.status {
			t.Fatalf("%s: %+v, want %d", tt.name, a, tt.status)
		}
	}
	p := sub.note()["params"].(map[string]any)
	if d, _ := p["data"].(map[string]any); p["topic"] != "orders/1" || d["paid"] != true {
		t.Fatalf("the subscriber got %v", p)
	}
}

// TestPublishAPIKeysOnly: KeysOnly keeps the server's tokens out.
func TestPublishAPIKeysOnly(t *testing.T) {
	_, base := startPublishAPI(t, herald.Options{Authenticator: jwtAuth(t)}, herald.PublishAPIOptions{Keys: []string{"k-0123"}, KeysOnly: true})
	if a := post(t, base+"/api/publish", `{"topic":"chat/room","data":1}`, bearer(chatter(t, time.Hour))); a.status != 401 || !strings.Contains(a.message, "API key is not valid") {
		t.Fatalf("%+v", a)
	}
	if a := post(t, base+"/api/publish", `{"topic":"chat/room","data":1}`, bearer("k-0123")); a.status != 200 {
		t.Fatalf("%+v", a)
	}
	_, base = startPublishAPI(t, herald.Options{Authenticator: jwtAuth(t)}, herald.PublishAPIOptions{KeysOnly: true})
	if a := post(t, base+"/api/publish", `{"topic":"chat/room","data":1}`, bearer(chatter(t, time.Hour))); a.status != 404 {
		t.Fatalf("KeysOnly without keys: %+v, want 404", a)
	}
}

// TestPublishAPIBrowser: a page of an allowed origin publishes with its
// cookie (after a CORS preflight); a page admitted only by "*" never
// authenticates by cookie, as on the other transports.
func TestPublishAPIBrowser(t *testing.T) {
	_, base := startPublishAPI(t, herald.Options{Authenticator: jwtAuth(t), AllowedOrigins: []string{"https://app.example.com", "*"}}, herald.PublishAPIOptions{})
	api := base + "/api/publish"
	cookie := "herald_token=" + chatter(t, time.Hour)

	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodPost, api, strings.NewReader(`{"topic":"chat/room","data":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed origin: %d %v", resp.StatusCode, resp.Header)
	}
	if a := post(t, api, `{"topic":"chat/room","data":1}`, http.Header{"Origin": {"https://other.example"}, "Cookie": {cookie}}); a.status != 401 {
		t.Fatalf("origin admitted by \"*\" with a cookie: %+v, want 401 (the cookie is not used)", a)
	}
	if a := post(t, api, `{"topic":"chat/room","data":1}`, http.Header{"Origin": {"https://other.example"}, "Authorization": {"Bearer " + chatter(t, time.Hour)}}); a.status != 200 {
		t.Fatalf("origin admitted by \"*\" with a bearer token: %+v", a)
	}
}

// TestPublishAPIPreflight: mounted for OPTIONS, the handler answers the
// CORS preflight of an allowed origin.
func TestPublishAPIPreflight(t *testing.T) {
	srv := herald.New(herald.Options{Authenticator: jwtAuth(t), AllowedOrigins: []string{"https://app.example.com"}})
	defer srv.Shutdown(context.Background())
	h := srv.PublishHandler(herald.PublishAPIOptions{})
	for origin, want := range map[string]int{"https://app.example.com": 204, "https://evil.example": 403} {
		r := httptest.NewRequest(http.MethodOptions, "/api/publish", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want || (want == 204 && !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization")) {
			t.Errorf("%s: %d %v, want %d", origin, w.Code, w.Header(), want)
		}
	}
}

// TestPublishAPIAnonymousIdentity: an authenticator that admits every
// request (Identity{} for strangers) does not open the API; a cookie
// session it recognizes publishes, under Authorize.
func TestPublishAPIAnonymousIdentity(t *testing.T) {
	_, base := startPublishAPI(t, herald.Options{
		OnConnect: func(ctx context.Context, r *herald.ConnectRequest) (herald.Identity, error) {
			if c, err := (&http.Request{Header: r.Header}).Cookie("sid"); err == nil && c.Value == "s3cr3t" {
				return herald.Identity{Subject: "carol"}, nil
			}
			return herald.Identity{}, nil
		},
		Authorize: func(ctx context.Context, c *herald.Client, a herald.Action, topic string) error {
			if c.Identity.Subject == "carol" && topic == "carol/inbox" {
				return nil
			}
			return herald.ErrForbidden
		},
	}, herald.PublishAPIOptions{Keys: []string{"k-0123456789abcdef"}})
	api := base + "/api/publish"
	for _, tt := range []struct {
		name, topic string
		h           http.Header
		status      int
	}{
		{"stranger", "carol/inbox", nil, 401},
		{"stranger with a bearer value", "carol/inbox", bearer("whatever"), 401},
		{"session", "carol/inbox", http.Header{"Cookie": {"sid=s3cr3t"}}, 200},
		{"session, other topic", "dave/inbox", http.Header{"Cookie": {"sid=s3cr3t"}}, 403},
		{"key", "dave/inbox", bearer("k-0123456789abcdef"), 200},
	} {
		if a := post(t, api, `{"topic":"`+tt.topic+`","data":1}`, tt.h); a.status != tt.status {
			t.Errorf("%s: %+v, want %d", tt.name, a, tt.status)
		}
	}
}
