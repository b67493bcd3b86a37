package core

import (
	"context"
	"net/http"
	"testing"
)

func TestScopeKeepsCallerHeadersCompactly(t *testing.T) {
	h := http.Header{}
	h.Set("Cookie", "session=abc; theme=dark")
	h.Add("X-Forwarded-For", "10.0.0.1")
	h.Add("X-Forwarded-For", "10.0.0.2")
	h.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	h.Set("Upgrade", "websocket")
	var s Scope
	s.SetHeader(h)
	got := s.Header()
	if got.Get("Sec-Websocket-Key") != "" || got.Get("Upgrade") != "" {
		t.Errorf("handshake-only headers kept: %v", got)
	}
	if v := got.Values("X-Forwarded-For"); len(v) != 2 || v[1] != "10.0.0.2" {
		t.Errorf("repeated header = %v", v)
	}
	cookies := s.Cookies()
	if len(cookies) != 2 || cookies[0].Name != "session" || cookies[0].Value != "abc" {
		t.Errorf("cookies = %v", cookies)
	}
	if len(new(Scope).Header()) != 0 {
		t.Error("empty scope has headers")
	}
	ctx := WithScope(context.Background(), &s)
	if got, ok := ScopeFrom(ctx); !ok || got != &s {
		t.Error("scope not carried by the context")
	}
	if _, ok := ScopeFrom(context.Background()); ok {
		t.Error("scope found in a bare context")
	}
}
