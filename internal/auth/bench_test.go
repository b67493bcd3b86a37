package auth

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkVerify is the cost a token adds to each connection (and each
// refresh), per algorithm.
func BenchmarkVerify(b *testing.B) {
	k := testKeys(b)
	dir := b.TempDir()
	v, err := NewVerifier(JWTConfig{
		Algorithms: []string{"HS256", "RS256", "ES256"},
		KeyFiles:   []string{writePEM(b, dir, "r.pem", &k.rsa.PublicKey), writePEM(b, dir, "e.pem", &k.ec.PublicKey)},
		Secrets:    map[string][]byte{"h": k.secret},
	})
	if err != nil {
		b.Fatal(err)
	}
	claims := jwt.MapClaims{"sub": "a", "exp": time.Now().Add(time.Hour).Unix(), "roles": []string{"user"}}
	for _, c := range []struct {
		name string
		tok  string
	}{
		{"HS256", sign(b, jwt.SigningMethodHS256, k.secret, "h", claims)},
		{"RS256", sign(b, jwt.SigningMethodRS256, k.rsa, "r", claims)},
		{"ES256", sign(b, jwt.SigningMethodES256, k.ec, "e", claims)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(c.tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCanSubscribe is the per-subscription cost of a role's patterns.
func BenchmarkCanSubscribe(b *testing.B) {
	p := &Permissions{Subscribe: []string{"news/#", "chat/+/messages", "user/alice/#", "orders/+/status", "$SYS/broker/#"}}
	b.ReportAllocs()
	for b.Loop() {
		if !p.CanSubscribe("orders/+/status") {
			b.Fatal("refused")
		}
	}
}
