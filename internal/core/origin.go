package core

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// OriginAllowed applies the origin policy: requests without an Origin
// header (non-browser clients) pass; a browser's origin must be the
// request's own host or match one of the allowed patterns. A pattern is
// matched with path.Match against the origin's host ("*.example.com",
// "localhost:*") or, when it has a scheme, against the whole origin
// ("https://app.example.com").
func OriginAllowed(r *http.Request, allowed []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, p := range allowed {
		p = strings.ToLower(p)
		target := strings.ToLower(u.Host)
		if strings.Contains(p, "://") {
			target = strings.ToLower(u.Scheme + "://" + u.Host)
		}
		if p == "*" {
			return true
		}
		if ok, _ := path.Match(p, target); ok {
			return true
		}
	}
	return false
}
