package core

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCredentialHeader(t *testing.T) {
	t.Parallel()
	allowed := []string{"*", "https://app.example.com"}
	cases := []struct {
		name       string
		url        string
		header     http.Header
		authz      string
		keepCookie bool
	}{
		{"no origin keeps cookies", "/ws", http.Header{"Cookie": {"t=1"}}, "", true},
		{"same origin keeps cookies", "/ws", http.Header{"Cookie": {"t=1"}, "Origin": {"http://example.com"}}, "", true},
		{"explicit origin keeps cookies", "/ws", http.Header{"Cookie": {"t=1"}, "Origin": {"https://app.example.com"}}, "", true},
		{"origin allowed by * loses cookies", "/ws", http.Header{"Cookie": {"t=1"}, "Origin": {"https://evil.example"}}, "", false},
		{"access_token becomes Authorization", "/ws?access_token=abc", http.Header{}, "Bearer abc", false},
		{"Authorization wins over access_token", "/ws?access_token=abc", http.Header{"Authorization": {"Bearer h"}}, "Bearer h", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "http://example.com"+c.url, nil)
		r.Header = c.header
		h := CredentialHeader(r, allowed)
		if got := h.Get("Authorization"); got != c.authz {
			t.Errorf("%s: Authorization %q, want %q", c.name, got, c.authz)
		}
		if got := h.Get("Cookie") != ""; got != c.keepCookie && c.header.Get("Cookie") != "" {
			t.Errorf("%s: cookie kept = %v, want %v", c.name, got, c.keepCookie)
		}
		if r.Header.Get("Cookie") != c.header.Get("Cookie") {
			t.Errorf("%s: the request's own header was modified", c.name)
		}
	}
}

// FuzzCredentialHeader feeds arbitrary origins, cookies and queries: no
// panic, and a cookie survives only for a trusted origin.
func FuzzCredentialHeader(f *testing.F) {
	f.Add("https://evil.example", "t=1", "access_token=x")
	f.Add("", "a=b; c=d", "access_token=%zz")
	f.Add("null", "", "")
	f.Fuzz(func(t *testing.T, origin, cookie, query string) {
		r := httptest.NewRequest("GET", "http://example.com/ws", nil)
		r.URL.RawQuery = query
		r.Header = http.Header{"Origin": {origin}, "Cookie": {cookie}}
		h := CredentialHeader(r, []string{"*"})
		if h.Get("Cookie") != "" && origin != "" && !OriginAllowed(r, nil) {
			t.Fatalf("cookie kept for origin %q", origin)
		}
	})
}
