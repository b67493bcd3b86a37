package rpcproxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkProxyCall measures what binding a method to an HTTP backend
// costs per request: one POST to a backend on 127.0.0.1 (kept-alive
// connection) and the JSON round trip, against calling a Go handler that
// does the same work. The difference is the proxy's overhead.
func BenchmarkProxyCall(b *testing.B) {
	params := json.RawMessage(`{"order":42,"items":["a","b"]}`)
	b.Run("direct", func(b *testing.B) {
		h := func(ctx context.Context, p json.RawMessage) (any, error) { return p, nil }
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h(context.Background(), params); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("http-backend", func(b *testing.B) {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req struct{ Params json.RawMessage }
			body, _ := io.ReadAll(r.Body)
			json.Unmarshal(body, &req)
			w.Header().Set("Content-Type", "application/json")
			w.Write(req.Params)
		}))
		defer hs.Close()
		p, err := New(Route{URL: hs.URL})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Handle(context.Background(), params); err != nil {
				b.Fatal(err)
			}
		}
	})
}
