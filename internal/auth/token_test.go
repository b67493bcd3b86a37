package auth

import (
	"net/http"
	"strings"
	"testing"
)

func TestToken(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		header   http.Header
		cookie   string
		passcode string
		want     string
		src      Source
	}{
		{"none", http.Header{}, "", "", "", None},
		{"bearer", http.Header{"Authorization": {"Bearer abc"}}, "", "", "abc", FromHeader},
		{"bearer lower case", http.Header{"Authorization": {"bearer  abc "}}, "", "", "abc", FromHeader},
		{"basic ignored", http.Header{"Authorization": {"Basic dXNlcjpwdw=="}}, "", "", "", None},
		{"bearer empty", http.Header{"Authorization": {"Bearer "}}, "", "", "", None},
		{"passcode first", http.Header{"Authorization": {"Bearer abc"}}, "", "pc", "pc", FromPasscode},
		{"cookie", http.Header{"Cookie": {"a=1; herald_token=tok"}}, "herald_token", "", "tok", FromCookie},
		{"cookie not configured", http.Header{"Cookie": {"herald_token=tok"}}, "", "", "", None},
		{"header before cookie", http.Header{"Authorization": {"Bearer h"}, "Cookie": {"t=c"}}, "t", "", "h", FromHeader},
		{"oversized", http.Header{"Authorization": {"Bearer " + strings.Repeat("x", MaxTokenLen+1)}}, "", "", "", None},
	}
	for _, c := range cases {
		got, src := Token(c.header, c.cookie, c.passcode)
		if got != c.want || src != c.src {
			t.Errorf("%s: Token = %q, %d; want %q, %d", c.name, got, src, c.want, c.src)
		}
	}
}

func FuzzToken(f *testing.F) {
	f.Add("Bearer abc", "t=1; u=2", "t", "")
	f.Add("bearer", "=;;", "", "pass")
	f.Fuzz(func(t *testing.T, authz, cookie, name, passcode string) {
		tok, src := Token(http.Header{"Authorization": {authz}, "Cookie": {cookie}}, name, passcode)
		if (tok == "") != (src == None) || len(tok) > MaxTokenLen {
			t.Fatalf("Token = %q, %d", tok, src)
		}
	})
}
