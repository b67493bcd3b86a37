package core

import (
	"net/http/httptest"
	"testing"
)

func TestOriginAllowed(t *testing.T) {
	tests := []struct {
		host, origin string
		allowed      []string
		want         bool
	}{
		{"example.com", "", nil, true}, // not a browser
		{"example.com", "https://example.com", nil, true},
		{"Example.com:8080", "http://example.COM:8080", nil, true},
		{"example.com", "https://evil.test", nil, false},
		{"example.com", "https://example.com.evil.test", nil, false},
		{"example.com", "null", nil, false},
		{"example.com", "https://app.example.org", []string{"*.example.org"}, true},
		{"example.com", "https://example.org", []string{"*.example.org"}, false},
		{"example.com", "http://localhost:3000", []string{"localhost:*"}, true},
		{"example.com", "http://app.example.org", []string{"https://app.example.org"}, false},
		{"example.com", "https://app.example.org", []string{"https://app.example.org"}, true},
		{"example.com", "https://anything.test", []string{"*"}, true},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", "http://"+tc.host+"/ws", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := OriginAllowed(r, tc.allowed); got != tc.want {
			t.Errorf("host %s origin %q allowed %v: got %v", tc.host, tc.origin, tc.allowed, got)
		}
	}
}
