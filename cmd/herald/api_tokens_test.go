package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestAPITokensConfig(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(nil, env(map[string]string{"HERALD_API_TOKENS": "true", "HERALD_HOOKS_CONNECT_URL": "http://127.0.0.1:9/connect"}), &bytes.Buffer{})
	if err != nil || !c.API.Tokens || !c.API.enabled() {
		t.Fatalf("%v %+v", err, c.API)
	}
	c = DefaultConfig()
	c.API.Tokens = true
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "api.tokens: needs hooks.connect_url or auth.jwt") {
		t.Fatalf("api.tokens without an authenticator: %v", err)
	}
}

// TestServeAPITokens: with api.tokens and no keys, the binary's publish
// API takes JWTs, limited to their "herald" claim's publish topics, and
// answers a CORS preflight from an allowed origin.
func TestServeAPITokens(t *testing.T) {
	t.Parallel()
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	secret := []byte("api-tokens-secret-0123456789abcdef")
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{jwkOct("k1", secret)}})
	if err := os.WriteFile(jwks, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Listen, cfg.STOMPListen, cfg.MQTTListen = "127.0.0.1:0", "", ""
	cfg.Auth.JWT = JWTConfig{Algorithms: []string{"HS256"}, JWKSFile: jwks}
	cfg.API.Tokens = true
	cfg.AllowedOrigins = []string{"https://app.example.com"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	base, _, _ := startServe(t, cfg, &logBuffer{})
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "billing", "exp": time.Now().Add(time.Hour).Unix(), "herald": map[string]any{"pub": []string{"orders/#"}}})
	tok.Header["kid"] = "k1"
	signed, err := tok.SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, topic, authz string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, base+"/api/publish", strings.NewReader(`{"topic":"`+topic+`","data":1}`))
		req.Header.Set("Content-Type", "application/json")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		if method == http.MethodOptions {
			req.Header.Set("Origin", "https://app.example.com")
			req.Header.Set("Access-Control-Request-Method", "POST")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tt := range []struct {
		method, topic, authz string
		status               int
	}{
		{"POST", "orders/1", "Bearer " + signed, 200},
		{"POST", "chat/1", "Bearer " + signed, 403},
		{"POST", "orders/1", "", 401},
		{"POST", "orders/1", "Bearer not-a-token", 401},
		{"OPTIONS", "", "", 204},
	} {
		if resp := do(tt.method, tt.topic, tt.authz); resp.StatusCode != tt.status {
			t.Errorf("%s %s %.20q: %d, want %d", tt.method, tt.topic, tt.authz, resp.StatusCode, tt.status)
		} else if tt.method == "OPTIONS" && resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
			t.Errorf("preflight headers %v", resp.Header)
		}
	}
}
