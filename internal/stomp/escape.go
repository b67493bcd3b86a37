package stomp

import (
	"errors"
	"strings"
)

// escaping is how a frame's header names and values are escaped.
type escaping uint8

const (
	escNone escaping = iota // STOMP 1.0, and CONNECT/CONNECTED in every version
	esc11                   // \n \c \\
	esc12                   // \r \n \c \\
)

// escapingFor returns the escaping of a frame with command cmd in version
// v. CONNECT (and its alias STOMP) and CONNECTED are never escaped, so a
// 1.0 peer can read them before a version is agreed.
func escapingFor(v Version, cmd string) escaping {
	if cmd == cmdConnect || cmd == cmdStomp || cmd == cmdConnected {
		return escNone
	}
	switch v {
	case V11:
		return esc11
	case V12:
		return esc12
	}
	return escNone
}

var errBadEscape = errors.New("undefined escape sequence")

// unescape decodes s; an escape the version does not define (including
// a lone trailing backslash) is an error, as the specification requires.
func unescape(esc escaping, s string) (string, error) {
	if esc == escNone {
		return s, nil
	}
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		if i+1 == len(s) {
			return "", errBadEscape
		}
		i++
		switch s[i] {
		case 'n':
			b = append(b, '\n')
		case 'c':
			b = append(b, ':')
		case '\\':
			b = append(b, '\\')
		case 'r':
			if esc != esc12 {
				return "", errBadEscape
			}
			b = append(b, '\r')
		default:
			return "", errBadEscape
		}
	}
	return string(b), nil
}

// appendEscaped appends s escaped by esc. Callers check representable
// first.
func appendEscaped(dst []byte, esc escaping, s string) []byte {
	if esc == escNone || !strings.ContainsAny(s, "\\:\n\r") {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c == ':':
			dst = append(dst, '\\', 'c')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r' && esc == esc12:
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// representable reports whether esc can carry s as a header name (name)
// or value so that a parser reads s back: a 1.0 or CONNECT header cannot
// hold a line feed (nor a name a colon). A value ending in a carriage
// return is representable: appendHeader ends its line with CRLF.
func representable(esc escaping, s string, name bool) bool {
	if name && s == "" {
		return false
	}
	if esc == esc12 {
		return true
	}
	if esc == esc11 {
		return true
	}
	if name && strings.IndexByte(s, ':') >= 0 {
		return false
	}
	return strings.IndexByte(s, '\n') < 0
}
