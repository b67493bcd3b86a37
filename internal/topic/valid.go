// Package topic holds Herald's single topic space: validation of topic
// names and filters, MQTT-style wildcard matching, and the subscription
// tree the router uses to find the subscribers of a published name.
//
// Names are '/'-separated levels. Filters may use the MQTT wildcards '+'
// (exactly one level) and '#' (this level and everything below, only as the
// last level). Every protocol maps onto this one syntax so that a message
// published over STOMP reaches an MQTT or SSE subscriber unchanged.
package topic

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest name or filter in bytes. It is MQTT's limit (a
// 16-bit length prefix), so any Herald topic is expressible over MQTT.
const MaxLen = 65535

// ValidName reports whether s can be published to: non-empty, at most
// MaxLen bytes, valid UTF-8, no NUL, and no wildcard characters. Empty
// levels ("a//b", "/a") are allowed, as in MQTT. The error wraps
// ErrInvalidName.
func ValidName(s string) error {
	if err := validCommon(s); err != "" {
		return fmt.Errorf("%w: %s", ErrInvalidName, err)
	}
	for i := 0; i < len(s); i++ { // one byte loop: this runs on every publish
		if c := s[i]; c == '+' || c == '#' {
			return fmt.Errorf("%w: wildcard %q at byte %d", ErrInvalidName, c, i)
		}
	}
	return nil
}

// ValidFilter reports whether s can be subscribed to: the rules of
// ValidName, except that '+' may appear as a whole level and '#' as the
// whole last level. The error wraps ErrInvalidFilter.
func ValidFilter(s string) error {
	if err := validCommon(s); err != "" {
		return fmt.Errorf("%w: %s", ErrInvalidFilter, err)
	}
	rest := s
	for start := 0; ; {
		level, tail, more := strings.Cut(rest, "/")
		if strings.ContainsAny(level, "+#") {
			switch {
			case level == "+":
			case level == "#" && !more:
			case level == "#":
				return fmt.Errorf("%w: '#' must be the last level (byte %d)", ErrInvalidFilter, start)
			default:
				return fmt.Errorf("%w: wildcard inside level %q (byte %d)", ErrInvalidFilter, clip(level), start)
			}
		}
		if !more {
			return nil
		}
		start += len(level) + 1
		rest = tail
	}
}

// IsWildcard reports whether filter contains a wildcard level, i.e. whether
// it can match more than the one name equal to it. It assumes filter is
// valid.
func IsWildcard(filter string) bool {
	return strings.ContainsAny(filter, "+#")
}

// validCommon checks the rules shared by names and filters and returns a
// description of the first violation, or "".
func validCommon(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > MaxLen:
		return fmt.Sprintf("%d bytes, longer than %d", len(s), MaxLen)
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		return fmt.Sprintf("NUL at byte %d", i)
	}
	return ""
}

// clip shortens s for an error message, so that a 64 KiB bad filter does not
// end up verbatim in logs.
func clip(s string) string {
	const max = 32
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
