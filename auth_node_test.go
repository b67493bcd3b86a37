package herald_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/testutil"
)

// bannable wraps the JWT authenticator: user name "banned" is refused
// with ErrForbidden whatever its token, to show the "not authorized"
// codes next to the "bad credentials" ones.
func bannable(t *testing.T) herald.Authenticator {
	j := jwtAuth(t)
	return herald.AuthenticatorFunc(func(ctx context.Context, r *herald.ConnectRequest) (herald.Identity, error) {
		if r.Login == "banned" {
			return herald.Identity{}, fmt.Errorf("%w: banned", herald.ErrForbidden)
		}
		return j.Authenticate(ctx, r)
	})
}

// TestAuthMQTTNode: MQTT.js over TCP and WebSocket against JWT
// authentication (tests/node/auth_mqtt.mjs).
func TestAuthMQTTNode(t *testing.T) {
	_, base, port := startMQTT(t, herald.Options{Authenticator: bannable(t)})
	out := testutil.Node(t, 2*time.Minute, "auth_mqtt.mjs", map[string]string{
		"HERALD_WS":     wsURL(base),
		"HERALD_MQTT":   "mqtt://" + mqttAddr(port),
		"HERALD_SECRET": string(testSecret),
	})
	if n := strings.Count(out, "ok "); n != 14 {
		t.Fatalf("%d cases passed, want 14:\n%s", n, out)
	}
}

// TestAuthSTOMPNode: stomp.js over WebSocket (tests/node/auth_stomp.mjs).
func TestAuthSTOMPNode(t *testing.T) {
	_, base := start(t, herald.Options{Authenticator: jwtAuth(t)})
	out := testutil.Node(t, time.Minute, "auth_stomp.mjs", map[string]string{
		"STOMP_URL":     wsURL(base),
		"HERALD_SECRET": string(testSecret),
	})
	if n := strings.Count(out, "ok "); n != 4 {
		t.Fatalf("%d cases passed, want 4:\n%s", n, out)
	}
}

// TestAuthHeraldJS: herald.js's token option and refresh() over each of
// its transports (tests/node/auth_herald_js.mjs).
func TestAuthHeraldJS(t *testing.T) {
	srv, base := startHTTP(t, herald.Options{Authenticator: jwtAuth(t)})
	srv.Handle("echo", func(ctx context.Context, p json.RawMessage) (any, error) { return p, nil })
	out := testutil.Node(t, time.Minute, "auth_herald_js.mjs", map[string]string{
		"HERALD_URL":    base,
		"HERALD_JS":     filepath.Join(testutil.Root(t), "web", "herald.js"),
		"HERALD_SECRET": string(testSecret),
	})
	if n := strings.Count(out, "ok "); n != 3 {
		t.Fatalf("%d transports passed, want 3:\n%s", n, out)
	}
}
