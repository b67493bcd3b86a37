package herald_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/heraldhq/herald"
)

// testSecret signs the tests' HS256 tokens.
var testSecret = []byte("herald-test-secret-0123456789abcdef")

// testRoles are the roles of jwtOptions: a "reader" may only follow
// news; a "chatter" may chat and call echo.
var testRoles = map[string]herald.Permissions{
	"reader":  {Subscribe: []string{"news/#"}},
	"chatter": {Publish: []string{"chat/+"}, Subscribe: []string{"chat/#", "/queue/jobs"}, Call: []string{"echo"}},
}

func jwtAuth(t *testing.T) *herald.JWTAuthenticator {
	t.Helper()
	a, err := herald.NewJWTAuthenticator(herald.JWTOptions{
		Algorithms: []string{"HS256"},
		Secrets:    map[string][]byte{"test": testSecret},
		Audience:   "herald-test",
		Cookie:     "herald_token",
		Roles:      testRoles,
		Leeway:     time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// mint signs a token for sub that expires after ttl, with extra claims.
func mint(t *testing.T, sub string, ttl time.Duration, extra map[string]any) string {
	t.Helper()
	c := jwt.MapClaims{"sub": sub, "aud": "herald-test", "exp": time.Now().Add(ttl).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = "test"
	s, err := tok.SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// chatter is a token of the chatter role.
func chatter(t *testing.T, ttl time.Duration) string {
	return mint(t, "alice", ttl, map[string]any{"roles": []string{"chatter"}})
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
