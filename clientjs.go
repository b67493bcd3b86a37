package herald

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"net/http"
	"path"
	"time"
)

//go:embed web/herald.js web/herald.d.ts
var clientFiles embed.FS

// ClientJS serves herald.js, Herald's JavaScript client (a dependency-free
// ES module), and its TypeScript declarations herald.d.ts: a request for a
// path ending in one of those names gets that file. The binary serves them
// at /herald.js and /herald.d.ts; mount it likewise in your own mux:
//
//	mux.Handle("GET /herald.js", herald.ClientJS())
//
// Pages then import { connect } from "/herald.js". Responses carry an
// ETag, so browsers revalidate instead of downloading again.
func ClientJS() http.Handler {
	type file struct {
		body []byte
		etag string
		ct   string
	}
	files := map[string]file{}
	for name, ct := range map[string]string{
		"herald.js":   "text/javascript; charset=utf-8",
		"herald.d.ts": "application/typescript; charset=utf-8",
	} {
		b, _ := clientFiles.ReadFile("web/" + name) // embedded above
		sum := sha256.Sum256(b)
		files[name] = file{b, `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`, ct}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[path.Base(r.URL.Path)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ct)
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
	})
}
