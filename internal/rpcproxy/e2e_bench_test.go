package rpcproxy_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/rpcproxy"
)

// BenchmarkCallEndToEnd: a herald.v1 client's request answered by a Go
// handler, then by an HTTP backend through the proxy (same work: echo
// the params). ns/op is one round trip on one connection; the difference
// is what the proxy adds per call, HTTP exchange included.
func BenchmarkCallEndToEnd(b *testing.B) {
	echo := func(ctx context.Context, p json.RawMessage) (any, error) { return p, nil }
	backendURL := func(b *testing.B) string {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req struct{ Params json.RawMessage }
			body, _ := io.ReadAll(r.Body)
			json.Unmarshal(body, &req)
			w.Header().Set("Content-Type", "application/json")
			w.Write(req.Params)
		}))
		b.Cleanup(hs.Close)
		return hs.URL
	}
	for _, mode := range []string{"go-handler", "http-backend"} {
		b.Run(mode, func(b *testing.B) {
			srv := herald.New(herald.Options{})
			if mode == "go-handler" {
				srv.Handle("app.echo", echo)
			} else {
				p, err := rpcproxy.New(rpcproxy.Route{URL: backendURL(b)})
				if err != nil {
					b.Fatal(err)
				}
				srv.HandlePrefix("app.", p.Handle)
			}
			hs := httptest.NewServer(srv)
			b.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(ctx)
				hs.Close()
			})
			ctx := context.Background()
			c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), &websocket.DialOptions{Subprotocols: []string{"herald.v1"}})
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseNow()
			req := []byte(`{"jsonrpc":"2.0","id":1,"method":"app.echo","params":{"order":42,"items":["a","b"]}}`)
			for b.Loop() {
				if err := c.Write(ctx, websocket.MessageText, req); err != nil {
					b.Fatal(err)
				}
				_, resp, err := c.Read(ctx)
				if err != nil || !strings.Contains(string(resp), `"result":{"order":42`) {
					b.Fatalf("%s %v", resp, err)
				}
			}
		})
	}
}
