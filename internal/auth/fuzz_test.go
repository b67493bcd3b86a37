package auth

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify feeds arbitrary tokens to a verifier: nothing but a token
// signed with its key may pass, and nothing may panic.
func FuzzVerify(f *testing.F) {
	secret := []byte("0123456789abcdef0123456789abcdef-fuzz")
	v, err := NewVerifier(JWTConfig{Algorithms: []string{"HS256"}, Secrets: map[string][]byte{"k": secret}})
	if err != nil {
		f.Fatal(err)
	}
	good := sign(f, jwt.SigningMethodHS256, secret, "k", jwt.MapClaims{"sub": "a", "exp": time.Now().Add(time.Hour).Unix()})
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		claims, err := v.Verify(tok)
		if err == nil && tok != good && claims["sub"] != "a" {
			t.Fatalf("forged token accepted: %q → %v", tok, claims)
		}
	})
}

func FuzzJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"oct","kid":"h","k":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := parseJWKS(b)
		if err == nil && len(keys) == 0 {
			t.Fatal("no error and no key")
		}
	})
}
