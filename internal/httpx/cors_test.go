package httpx

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name, origin string
		allowed      []string
		want         Access
		acao, creds  string
	}{
		{"no origin", "", nil, Trusted, "", ""},
		{"same origin", "http://herald.test", nil, Trusted, "http://herald.test", "true"},
		{"cross origin refused", "https://evil.test", nil, Denied, "", ""},
		{"pattern", "https://app.example.com", []string{"*.example.com"}, Trusted, "https://app.example.com", "true"},
		{"full origin pattern", "https://app.example.com", []string{"https://app.example.com"}, Trusted, "https://app.example.com", "true"},
		{"scheme mismatch", "http://app.example.com", []string{"https://app.example.com"}, Denied, "", ""},
		{"star: public, no credentials", "https://anyone.test", []string{"*"}, Public, "*", ""},
		{"star and a pattern", "https://app.example.com", []string{"*", "*.example.com"}, Trusted, "https://app.example.com", "true"},
		{"bad origin", "::", nil, Denied, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://herald.test/events", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			w := httptest.NewRecorder()
			if got := Check(w, r, tt.allowed); got != tt.want {
				t.Errorf("Check = %v, want %v", got, tt.want)
			}
			h := w.Header()
			if h.Get("Access-Control-Allow-Origin") != tt.acao || h.Get("Access-Control-Allow-Credentials") != tt.creds {
				t.Errorf("ACAO %q credentials %q; want %q %q", h.Get("Access-Control-Allow-Origin"), h.Get("Access-Control-Allow-Credentials"), tt.acao, tt.creds)
			}
			if h.Get("Access-Control-Allow-Origin") == "*" && h.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("wildcard with credentials")
			}
			if tt.origin != "" && h.Get("Vary") != "Origin" {
				t.Error("no Vary: Origin")
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	r := httptest.NewRequest("OPTIONS", "http://herald.test/poll", nil)
	r.Header.Set("Origin", "https://app.example.com")
	w := httptest.NewRecorder()
	Preflight(w, r, []string{"*.example.com"}, "GET, POST, DELETE")
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Methods") != "GET, POST, DELETE" ||
		w.Header().Get("Access-Control-Allow-Headers") == "" {
		t.Errorf("preflight: %d %v", w.Code, w.Header())
	}
	r.Header.Set("Origin", "https://evil.test")
	w = httptest.NewRecorder()
	Preflight(w, r, []string{"*.example.com"}, "GET")
	if w.Code != http.StatusForbidden || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("refused preflight: %d %v", w.Code, w.Header())
	}
}

func TestConnectHeader(t *testing.T) {
	r := httptest.NewRequest("GET", "/events?access_token=tok", nil)
	r.Header.Set("Cookie", "sid=1")
	if h := ConnectHeader(r, Trusted); h.Get("Authorization") != "Bearer tok" || h.Get("Cookie") != "sid=1" {
		t.Errorf("trusted: %v", h)
	}
	if h := ConnectHeader(r, Public); h.Get("Cookie") != "" {
		t.Errorf("public access must not pass cookies on: %v", h)
	}
	r.Header.Set("Authorization", "Basic x")
	if h := ConnectHeader(r, Trusted); h.Get("Authorization") != "Basic x" {
		t.Errorf("the header wins over the query: %v", h)
	}
	if r.Header.Get("Cookie") != "sid=1" {
		t.Error("ConnectHeader modified the request")
	}
}
