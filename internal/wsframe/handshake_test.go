package wsframe

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestAcceptKey(t *testing.T) {
	// RFC 6455 section 1.3.
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AcceptKey = %q", got)
	}
}

func upgradeRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/ws", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	return r
}

func TestCheckRequest(t *testing.T) {
	for _, c := range []struct {
		name   string
		modify func(r *http.Request)
		want   error
	}{
		{"valid", func(*http.Request) {}, nil},
		{"connection list, mixed case", func(r *http.Request) { r.Header.Set("Connection", "keep-alive, UPGRADE") }, nil},
		{"connection split values", func(r *http.Request) {
			r.Header.Set("Connection", "keep-alive")
			r.Header.Add("Connection", "upgrade")
		}, nil},
		{"upgrade list", func(r *http.Request) { r.Header.Set("Upgrade", "h2c, WebSocket") }, nil},
		{"POST", func(r *http.Request) { r.Method = http.MethodPost }, ErrBadMethod},
		{"HTTP/1.0", func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.0", 1, 0 }, ErrBadProto},
		{"no connection", func(r *http.Request) { r.Header.Del("Connection") }, ErrNoConnUpgrade},
		{"connection substring only", func(r *http.Request) { r.Header.Set("Connection", "upgraded") }, ErrNoConnUpgrade},
		{"no upgrade", func(r *http.Request) { r.Header.Del("Upgrade") }, ErrNoUpgradeToken},
		{"upgrade h2c", func(r *http.Request) { r.Header.Set("Upgrade", "h2c") }, ErrNoUpgradeToken},
		{"version 8", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, ErrBadVersion},
		{"no version", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }, ErrBadVersion},
		{"two versions", func(r *http.Request) { r.Header.Add("Sec-WebSocket-Version", "8") }, ErrBadVersion},
		{"no key", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") }, ErrBadKey},
		{"key not base64", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "not base64!!") }, ErrBadKey},
		{"key 15 bytes", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA") }, ErrBadKey},
		{"two keys", func(r *http.Request) { r.Header.Add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==") }, ErrBadKey},
	} {
		r := upgradeRequest()
		c.modify(r)
		if err := CheckRequest(r); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: CheckRequest = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestSubprotocols(t *testing.T) {
	h := http.Header{}
	if got := Subprotocols(h); got != nil {
		t.Fatalf("no header: %q", got)
	}
	h.Add("Sec-WebSocket-Protocol", "chat, superchat ,")
	h.Add("Sec-WebSocket-Protocol", " v2.herald")
	if got, want := Subprotocols(h), []string{"chat", "superchat", "v2.herald"}; !slices.Equal(got, want) {
		t.Fatalf("Subprotocols = %q, want %q", got, want)
	}
}
