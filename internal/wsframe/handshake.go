package wsframe

import (
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strings"
)

// acceptGUID is the fixed suffix from RFC 6455 section 1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey computes the Sec-WebSocket-Accept value for a client's
// Sec-WebSocket-Key.
func AcceptKey(clientKey string) string {
	h := sha1.New()
	h.Write([]byte(clientKey))
	h.Write([]byte(acceptGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// CheckRequest validates a WebSocket upgrade request (RFC 6455 section
// 4.2.1). The error describes the problem and is suitable as the body of an
// HTTP 400 response; errors.Is(err, ErrBadVersion) calls for a 426 with
// "Sec-WebSocket-Version: 13" instead.
func CheckRequest(r *http.Request) error {
	switch {
	case r.Method != http.MethodGet:
		return ErrBadMethod
	case !r.ProtoAtLeast(1, 1):
		return ErrBadProto
	case !hasToken(r.Header, "Connection", "upgrade"):
		return ErrNoConnUpgrade
	case !hasToken(r.Header, "Upgrade", "websocket"):
		return ErrNoUpgradeToken
	}
	if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		return ErrBadVersion
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return ErrBadKey
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0]))
	if err != nil || len(key) != 16 {
		return ErrBadKey
	}
	return nil
}

// hasToken reports whether any comma-separated element of any value of
// header name equals token, ignoring case.
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Subprotocols returns the tokens of all Sec-WebSocket-Protocol values, in
// order, trimmed, skipping empty elements. It returns nil if there are none.
func Subprotocols(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}
