package herald_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/heraldhq/herald"
)

// TestHandlePrefix: an exact Handle beats any prefix, the longest prefix
// wins, and every handler learns the method it serves.
func TestHandlePrefix(t *testing.T) {
	srv, base := start(t, herald.Options{})
	answer := func(name string) herald.HandlerFunc {
		return func(ctx context.Context, _ json.RawMessage) (any, error) {
			m, ok := herald.MethodFromContext(ctx)
			if !ok {
				m = "?"
			}
			return name + " " + m, nil
		}
	}
	srv.HandlePrefix("orders.", answer("orders"))
	srv.HandlePrefix("orders.admin.", answer("admin"))
	srv.Handle("orders.special", answer("exact"))
	srv.HandlePrefix("gone.", answer("gone"))
	srv.HandlePrefix("gone.", nil)
	c := newRPC(t, base)
	for _, tt := range []struct{ method, want string }{
		{"orders.create", "orders orders.create"},
		{"orders.admin.purge", "admin orders.admin.purge"},
		{"orders.special", "exact orders.special"},
		{"orders.", "orders orders."},
	} {
		if r := c.call(tt.method, tt.method, nil); r["result"] != tt.want {
			t.Errorf("%s: %v, want %q", tt.method, r, tt.want)
		}
	}
	for _, m := range []string{"order", "gone.x"} {
		if r := c.call(m, m, nil); errorCode(r) != -32601 {
			t.Errorf("%s: %v, want method not found", m, r)
		}
	}
}
