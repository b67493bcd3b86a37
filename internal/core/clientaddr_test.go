package core

import (
	"net"
	"net/http"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"127.0.0.1", "10.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, remote string
		header       http.Header
		want         string
	}{
		{"no header", "127.0.0.1:5000", nil, "127.0.0.1:5000"},
		{"xff from trusted", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.7"}}, "203.0.113.7:0"},
		{"xff from untrusted is ignored", "198.51.100.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.7"}}, "198.51.100.1:5000"},
		{"spoofed leftmost ignored", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"1.2.3.4, 203.0.113.7"}}, "203.0.113.7:0"},
		{"chain of trusted proxies", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.7, 10.1.2.3", "10.0.0.9"}}, "203.0.113.7:0"},
		{"all trusted: leftmost", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"10.0.0.1, 10.0.0.2"}}, "10.0.0.1:0"},
		{"garbage ends the walk", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.7, nonsense"}}, "127.0.0.1:5000"},
		{"garbage after a trusted hop", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"nonsense, 10.0.0.2"}}, "10.0.0.2:0"},
		{"forwarded wins", "127.0.0.1:5000", http.Header{"Forwarded": {`for="[2001:db8::1]:4711";proto=https`}, "X-Forwarded-For": {"203.0.113.7"}}, "[2001:db8::1]:4711"},
		{"forwarded list", "[::1]:5000", http.Header{"Forwarded": {"for=192.0.2.60;by=x, for=10.0.0.3"}}, "192.0.2.60:0"},
		{"forwarded obfuscated", "127.0.0.1:5000", http.Header{"Forwarded": {"for=_hidden"}}, "127.0.0.1:5000"},
		{"xff with port", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.7:8443"}}, "203.0.113.7:8443"},
		{"v4-mapped peer", "[::ffff:127.0.0.1]:5000", http.Header{"X-Forwarded-For": {"203.0.113.7"}}, "203.0.113.7:0"},
	}
	for _, c := range cases {
		r := &http.Request{RemoteAddr: c.remote, Header: c.header}
		if got := ClientAddr(r, trusted); got != c.want {
			t.Errorf("%s: ClientAddr = %q, want %q", c.name, got, c.want)
		}
	}
	// Without trusted proxies the headers mean nothing.
	r := &http.Request{RemoteAddr: "127.0.0.1:1", Header: http.Header{"X-Forwarded-For": {"203.0.113.7"}}}
	if got := ClientAddr(r, nil); got != "127.0.0.1:1" {
		t.Errorf("no trusted proxies: %q", got)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies([]string{"10.1.2.3/8", " 192.168.0.1 ", "fd00::/8"})
	if err != nil || len(got) != 3 || got[0] != netip.MustParsePrefix("10.0.0.0/8") || got[1] != netip.MustParsePrefix("192.168.0.1/32") {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "10.0.0.0/33", "example.com", "1.2.3.4:80"} {
		if _, err := ParseTrustedProxies([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzClientAddr(f *testing.F) {
	f.Add("127.0.0.1:1", "203.0.113.7, 10.0.0.1", `for="[::1]:80";by=x`)
	f.Add("[::1]:2", "nonsense", "for=_x, for=1.2.3.4")
	trusted, _ := ParseTrustedProxies([]string{"127.0.0.0/8", "::1", "10.0.0.0/8"})
	f.Fuzz(func(t *testing.T, remote, xff, fwd string) {
		h := http.Header{}
		if xff != "" {
			h.Set("X-Forwarded-For", xff)
		}
		if fwd != "" {
			h.Set("Forwarded", fwd)
		}
		got := ClientAddr(&http.Request{RemoteAddr: remote, Header: h}, trusted)
		if got == remote {
			return
		}
		// Anything but the peer itself is a well-formed host:port with an IP.
		host, _, err := net.SplitHostPort(got)
		if err != nil || net.ParseIP(host) == nil {
			t.Fatalf("ClientAddr(%q, %q, %q) = %q", remote, xff, fwd, got)
		}
		if a, ok := addrOf(remote); !ok || !isTrusted(a, trusted) {
			t.Fatalf("untrusted peer %q was replaced by %q", remote, got)
		}
	})
}
