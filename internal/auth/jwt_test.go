package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// keyset is the test's signing keys, generated once.
type keyset struct {
	rsa, rsa2 *rsa.PrivateKey
	ec        *ecdsa.PrivateKey
	secret    []byte
}

var (
	ksOnce sync.Once
	ks     keyset
)

func testKeys(t testing.TB) keyset {
	ksOnce.Do(func() {
		r1, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		r2, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		ks = keyset{rsa: r1, rsa2: r2, ec: e, secret: []byte("0123456789abcdef0123456789abcdef-test")}
	})
	return ks
}

func writePEM(t testing.TB, dir, name string, pub any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rsaJWK(kid string, k *rsa.PublicKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

func writeJWKS(t testing.TB, file string, keys ...map[string]string) {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	k := testKeys(t)
	dir := t.TempDir()
	rsaFile := writePEM(t, dir, "rsa1.pem", &k.rsa.PublicKey)
	ecFile := writePEM(t, dir, "ec1.pem", &k.ec.PublicKey)
	secretFile := filepath.Join(dir, "hs1.key")
	os.WriteFile(secretFile, append(k.secret, '\n'), 0o600)
	now := time.Unix(1_800_000_000, 0)
	v, err := NewVerifier(JWTConfig{
		Algorithms: []string{"HS256", "RS256", "ES256"},
		KeyFiles:   []string{rsaFile, ecFile}, SecretFiles: []string{secretFile},
		Audience: "herald", Issuer: "https://id.example", Leeway: 5 * time.Second,
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "alice", "aud": "herald", "iss": "https://id.example", "exp": now.Add(time.Minute).Unix(), "iat": now.Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	pubPEM, _ := os.ReadFile(rsaFile)
	noneTok := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims(nil))
	good := sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(nil))
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory","aud":"herald","iss":"https://id.example","exp":1900000000}`)) + "." + parts[2]

	cases := []struct {
		name  string
		token string
		want  error // nil: valid
	}{
		{"RS256", good, nil},
		{"RS256 by kid", sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", claims(nil)), nil},
		{"ES256", sign(t, jwt.SigningMethodES256, k.ec, "", claims(nil)), nil},
		{"HS256", sign(t, jwt.SigningMethodHS256, k.secret, "hs1", claims(nil)), nil},
		{"within leeway", sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-3 * time.Second).Unix() })), nil},
		{"aud list", sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(func(c jwt.MapClaims) { c["aud"] = []string{"other", "herald"} })), nil},
		{"expired", sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })), ErrExpired},
		{"no exp", sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(func(c jwt.MapClaims) { delete(c, "exp") })), ErrInvalidToken},
		{"not yet valid", sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() })), ErrInvalidToken},
		{"issued in the future", sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() })), ErrInvalidToken},
		{"wrong audience", sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(func(c jwt.MapClaims) { c["aud"] = "other" })), ErrInvalidToken},
		{"no audience", sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(func(c jwt.MapClaims) { delete(c, "aud") })), ErrInvalidToken},
		{"wrong issuer", sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })), ErrInvalidToken},
		{"bad signature", sign(t, jwt.SigningMethodRS256, k.rsa2, "", claims(nil)), ErrInvalidToken},
		{"tampered payload", tampered, ErrInvalidToken},
		{"alg none", noneTok, ErrInvalidToken},
		{"HS256 with the RSA public key as secret", sign(t, jwt.SigningMethodHS256, pubPEM, "rsa1", claims(nil)), ErrInvalidToken},
		{"HS256 with the RSA public key, no kid", sign(t, jwt.SigningMethodHS256, pubPEM, "", claims(nil)), ErrInvalidToken},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, k.rsa, "nope", claims(nil)), ErrUnknownKey},
		{"kid of another family", sign(t, jwt.SigningMethodRS256, k.rsa, "ec1", claims(nil)), ErrUnknownKey},
		{"garbage", "not.a.token", ErrInvalidToken},
		{"empty", "", ErrInvalidToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := v.Verify(c.token)
			if c.want == nil {
				if err != nil {
					t.Fatalf("valid token refused: %v", err)
				}
				if got["sub"] != "alice" {
					t.Fatalf("claims = %v", got)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestVerifyRestrictsAlgorithms(t *testing.T) {
	t.Parallel()
	k := testKeys(t)
	dir := t.TempDir()
	v, err := NewVerifier(JWTConfig{Algorithms: []string{"RS256"}, KeyFiles: []string{writePEM(t, dir, "r.pem", &k.rsa.PublicKey)}, Secrets: map[string][]byte{"s": k.secret}})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Minute).Unix()
	if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, k.secret, "s", jwt.MapClaims{"exp": exp})); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("HS256 accepted although only RS256 is configured: %v", err)
	}
	if _, err := v.Verify(sign(t, jwt.SigningMethodRS384, k.rsa, "", jwt.MapClaims{"exp": exp})); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("RS384 accepted: %v", err)
	}
	if _, err := NewVerifier(JWTConfig{Algorithms: []string{"none"}, Secrets: map[string][]byte{"s": k.secret}}); err == nil {
		t.Fatal(`algorithm "none" configurable`)
	}
	if _, err := NewVerifier(JWTConfig{Algorithms: []string{"ES256"}, Secrets: map[string][]byte{"s": k.secret}}); err == nil {
		t.Fatal("a verifier with no key for its algorithms was created")
	}
	if _, err := NewVerifier(JWTConfig{Algorithms: []string{"HS256"}, Secrets: map[string][]byte{"s": []byte("short")}}); err == nil {
		t.Fatal("a short HMAC secret was accepted")
	}
}

// TestKeyRotation: a JWKS file gains a key and loses the old one; Reload
// makes the change effective, and a failed reload keeps the keys in use.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	k := testKeys(t)
	file := filepath.Join(t.TempDir(), "jwks.json")
	writeJWKS(t, file, rsaJWK("2026-10", &k.rsa.PublicKey))
	v, err := NewVerifier(JWTConfig{Algorithms: []string{"RS256"}, JWKSFile: file})
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{"sub": "a", "exp": time.Now().Add(time.Minute).Unix()}
	oldTok := sign(t, jwt.SigningMethodRS256, k.rsa, "2026-10", claims)
	newTok := sign(t, jwt.SigningMethodRS256, k.rsa2, "2026-11", claims)
	if _, err := v.Verify(oldTok); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(newTok); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("token of a key not yet published: %v", err)
	}
	// Both keys published: both verify.
	writeJWKS(t, file, rsaJWK("2026-10", &k.rsa.PublicKey), rsaJWK("2026-11", &k.rsa2.PublicKey))
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{oldTok, newTok} {
		if _, err := v.Verify(tok); err != nil {
			t.Fatalf("during rotation: %v", err)
		}
	}
	// Old key retired.
	writeJWKS(t, file, rsaJWK("2026-11", &k.rsa2.PublicKey))
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(oldTok); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("retired key still verifies: %v", err)
	}
	// A broken file: the reload fails and the keys in use stay.
	os.WriteFile(file, []byte("{not json"), 0o600)
	if err := v.Reload(); err == nil {
		t.Fatal("reload of a broken JWKS succeeded")
	}
	if _, err := v.Verify(newTok); err != nil {
		t.Fatalf("keys lost after a failed reload: %v", err)
	}
}

func TestJWKSKinds(t *testing.T) {
	t.Parallel()
	k := testKeys(t)
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		rsaJWK("r", &k.rsa.PublicKey),
		{"kty": "EC", "kid": "e", "crv": "P-256",
			"x": base64.RawURLEncoding.EncodeToString(k.ec.PublicKey.X.FillBytes(make([]byte, 32))),
			"y": base64.RawURLEncoding.EncodeToString(k.ec.PublicKey.Y.FillBytes(make([]byte, 32)))},
		{"kty": "oct", "kid": "h", "k": base64.RawURLEncoding.EncodeToString(k.secret)},
		{"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
	}})
	keys, err := parseJWKS(b)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, k := range keys {
		got[k.kid] = k.family()
	}
	if len(got) != 3 || got["r"] != "RS" || got["e"] != "ES" || got["h"] != "HS" {
		t.Fatalf("keys = %v", got)
	}
	for _, bad := range []string{`{"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]}`, `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`, `{"keys":[]}`, `[]`} {
		if _, err := parseJWKS([]byte(bad)); err == nil {
			t.Errorf("parseJWKS(%s) succeeded", bad)
		}
	}
}

func TestGrant(t *testing.T) {
	t.Parallel()
	roles := Roles{
		"reader": {Subscribe: []string{"news/#"}},
		"writer": {Publish: []string{"news/+"}},
	}
	cases := []struct {
		name   string
		claims string
		def    string
		check  func(*Permissions) bool
	}{
		{"claim", `{"herald":{"pub":["a"],"sub":["b/#"],"call":["x.*"]}}`, "", func(p *Permissions) bool {
			return p.CanPublish("a") && p.CanSubscribe("b/c") && p.CanCall("x.y") && !p.CanPublish("b")
		}},
		{"roles array", `{"roles":["reader","writer"]}`, "", func(p *Permissions) bool { return p.CanSubscribe("news/#") && p.CanPublish("news/x") }},
		{"roles string", `{"roles":"reader"}`, "", func(p *Permissions) bool { return p.CanSubscribe("news/a") && !p.CanPublish("news/x") }},
		{"claim and role", `{"roles":["writer"],"herald":{"sub":["own"]}}`, "", func(p *Permissions) bool { return p.CanSubscribe("own") && p.CanPublish("news/x") }},
		{"unknown role", `{"roles":["admin"]}`, "reader", func(p *Permissions) bool { return p != nil && !p.CanSubscribe("news/a") }},
		{"default role", `{}`, "reader", func(p *Permissions) bool { return p.CanSubscribe("news/a") }},
		{"nothing", `{}`, "", func(p *Permissions) bool { return p == nil }},
	}
	for _, c := range cases {
		var m map[string]any
		if err := json.Unmarshal([]byte(c.claims), &m); err != nil {
			t.Fatal(err)
		}
		p, err := Grant(m, roles, c.def)
		if err != nil || !c.check(p) {
			t.Errorf("%s: Grant = %+v, %v", c.name, p, err)
		}
	}
	for _, bad := range []string{`{"herald":"all"}`, `{"herald":{"pub":"a"}}`, `{"herald":{"sub":["a/#/b"]}}`, `{"herald":{"pub":[1]}}`} {
		var m map[string]any
		json.Unmarshal([]byte(bad), &m)
		if _, err := Grant(m, roles, ""); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Grant(%s) = %v, want ErrInvalidToken", bad, err)
		}
	}
	if _, err := Grant(map[string]any{}, roles, "missing"); err == nil {
		t.Error("an undefined default role was accepted")
	}
}
