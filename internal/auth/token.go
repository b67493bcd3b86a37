package auth

import (
	"net/http"
	"strings"
)

// MaxTokenLen bounds a credential Herald will try to verify; longer ones
// are refused unparsed.
const MaxTokenLen = 16 << 10

// Source names where a token was found.
type Source uint8

const (
	None Source = iota
	FromPasscode
	FromHeader
	FromCookie
)

// Token finds the bearer token a client presents, in order: the STOMP
// passcode or MQTT password, the Authorization header ("Bearer <token>",
// case-insensitive scheme; HTTP transports turn an access_token query
// parameter into this header), then the named cookie (when cookie is not
// empty). Empty or oversized values are treated as absent.
func Token(h http.Header, cookie, passcode string) (string, Source) {
	if ok(passcode) {
		return passcode, FromPasscode
	}
	for _, v := range h.Values("Authorization") {
		scheme, tok, found := strings.Cut(strings.TrimSpace(v), " ")
		if found && strings.EqualFold(scheme, "Bearer") {
			if tok = strings.TrimSpace(tok); ok(tok) {
				return tok, FromHeader
			}
		}
	}
	if cookie != "" && len(h.Values("Cookie")) > 0 {
		for _, c := range (&http.Request{Header: http.Header{"Cookie": h.Values("Cookie")}}).Cookies() {
			if c.Name == cookie && ok(c.Value) {
				return c.Value, FromCookie
			}
		}
	}
	return "", None
}

func ok(tok string) bool { return tok != "" && len(tok) <= MaxTokenLen }
