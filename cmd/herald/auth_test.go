package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

func TestValidateAuth(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(*Config)
		want string // "" = valid
	}{
		{"none", func(c *Config) {}, ""},
		{"jwt", func(c *Config) {
			c.Auth.JWT = JWTConfig{Algorithms: []string{"RS256"}, JWKSFile: "/k.json"}
			c.Auth.Roles = map[string]RoleConfig{"u": {Subscribe: []string{"a/#"}}}
			c.Auth.DefaultRole = "u"
		}, ""},
		{"no algorithms", func(c *Config) { c.Auth.JWT.JWKSFile = "/k.json" }, "auth.jwt.algorithms"},
		{"alg none", func(c *Config) { c.Auth.JWT = JWTConfig{Algorithms: []string{"none"}, JWKSFile: "/k"} }, `"none" is not`},
		{"no keys", func(c *Config) { c.Auth.JWT.Algorithms = []string{"HS256"} }, "needs key_files"},
		{"anonymous without jwt", func(c *Config) { c.Auth.Anonymous = true }, "auth: needs auth.jwt"},
		{"two authenticators", func(c *Config) {
			c.Auth.JWT = JWTConfig{Algorithms: []string{"HS256"}, SecretFiles: []string{"/s"}}
			c.Hooks.ConnectURL = "http://127.0.0.1:1/connect"
		}, "cannot be combined"},
		{"undefined default role", func(c *Config) {
			c.Auth.JWT = JWTConfig{Algorithms: []string{"HS256"}, SecretFiles: []string{"/s"}}
			c.Auth.DefaultRole = "ghost"
		}, "auth.default_role"},
		{"bad role filter", func(c *Config) {
			c.Auth.JWT = JWTConfig{Algorithms: []string{"HS256"}, SecretFiles: []string{"/s"}}
			c.Auth.Roles = map[string]RoleConfig{"u": {Subscribe: []string{"a/#/b"}}}
		}, "auth.roles.u"},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.edit(&cfg)
		err := cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestAuthYAML(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "herald.yaml")
	os.WriteFile(file, []byte(`
auth:
  jwt:
    algorithms: [HS256]
    secret_files: [/run/secrets/herald.key]
    audience: herald
    leeway: 5s
    cookie: herald_token
  default_role: user
  roles:
    user: {subscribe: ["news/#"], publish: ["chat/+"], call: ["orders.*"]}
`), 0o600)
	cfg, err := LoadConfig([]string{"--config", file}, env(map[string]string{"HERALD_AUTH_JWT_ISSUER": "https://id.example"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Auth
	if a.JWT.Leeway != 5*time.Second || a.JWT.Issuer != "https://id.example" || a.Roles["user"].Call[0] != "orders.*" || a.DefaultRole != "user" {
		t.Fatalf("auth = %+v", a)
	}
}

func jwkOct(kid string, secret []byte) map[string]string {
	return map[string]string{"kty": "oct", "kid": kid, "k": base64.RawURLEncoding.EncodeToString(secret)}
}

// TestServeJWTAndSIGHUP: the binary authenticates WebSocket clients by
// JWT and re-reads its JWKS file on SIGHUP (a new key is accepted).
func TestServeJWTAndSIGHUP(t *testing.T) {
	dir := t.TempDir()
	jwks := filepath.Join(dir, "jwks.json")
	k1, k2 := []byte("first-secret-0123456789abcdef-0123"), []byte("second-secret-0123456789abcdef-012")
	write := func(keys ...map[string]string) {
		b, _ := json.Marshal(map[string]any{"keys": keys})
		if err := os.WriteFile(jwks, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(jwkOct("k1", k1))
	cfg := DefaultConfig()
	cfg.Listen, cfg.STOMPListen, cfg.MQTTListen = "127.0.0.1:0", "", ""
	cfg.Auth.JWT = JWTConfig{Algorithms: []string{"HS256"}, JWKSFile: jwks}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	base, _, _ := startServe(t, cfg, logs)
	sign := func(kid string, key []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "a", "exp": time.Now().Add(time.Hour).Unix()})
		tok.Header["kid"] = kid
		s, _ := tok.SignedString(key)
		return s
	}
	status := func(tok string) int {
		h := http.Header{}
		if tok != "" {
			h.Set("Authorization", "Bearer "+tok)
		}
		c, resp, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(base, "http")+"/ws", &websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{"herald.v1"}})
		if err == nil {
			c.CloseNow()
			return 101
		}
		if resp == nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if got := status(""); got != 401 {
		t.Fatalf("no token: %d", got)
	}
	if got := status(sign("k1", k1)); got != 101 {
		t.Fatalf("k1: %d", got)
	}
	if got := status(sign("k2", k2)); got != 401 {
		t.Fatalf("k2 before the reload: %d", got)
	}
	write(jwkOct("k1", k1), jwkOct("k2", k2))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "JWT keys reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond) // polling the log for the event
	}
	if got := status(sign("k2", k2)); got != 101 {
		t.Fatalf("k2 after the reload: %d", got)
	}
}
