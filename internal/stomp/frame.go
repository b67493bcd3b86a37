package stomp

import (
	"strconv"
	"strings"
)

// Version is a STOMP protocol version.
type Version uint8

// The versions Herald speaks. The zero Version is "not negotiated yet".
const (
	V10 Version = iota + 1
	V11
	V12
)

// String returns the version as the accept-version header spells it.
func (v Version) String() string {
	switch v {
	case V10:
		return "1.0"
	case V11:
		return "1.1"
	case V12:
		return "1.2"
	}
	return "unknown"
}

// Header is one header entry, unescaped.
type Header struct{ Key, Value string }

// Frame is one STOMP frame. Headers keep their order and repetitions;
// Get returns the first entry of a name, as the specification says a
// repeated header's first entry is the one that counts.
type Frame struct {
	Command string
	Headers []Header
	Body    []byte
}

// Get returns the value of the first header named key.
func (f *Frame) Get(key string) (string, bool) {
	for _, h := range f.Headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return "", false
}

// Value is Get without the presence flag.
func (f *Frame) Value(key string) string {
	v, _ := f.Get(key)
	return v
}

// Commands. CONNECT and STOMP open a session (STOMP is the 1.1+ name);
// the rest of the first group are the other client frames, the second
// group the server's.
const (
	cmdConnect     = "CONNECT"
	cmdStomp       = "STOMP"
	cmdSend        = "SEND"
	cmdSubscribe   = "SUBSCRIBE"
	cmdUnsubscribe = "UNSUBSCRIBE"
	cmdAck         = "ACK"
	cmdNack        = "NACK"
	cmdBegin       = "BEGIN"
	cmdCommit      = "COMMIT"
	cmdAbort       = "ABORT"
	cmdDisconnect  = "DISCONNECT"

	cmdConnected = "CONNECTED"
	cmdMessage   = "MESSAGE"
	cmdReceipt   = "RECEIPT"
	cmdError     = "ERROR"
)

// AppendFrame appends f as version v writes it: header names and values
// escaped as v requires (not at all in CONNECT, STOMP and CONNECTED, which
// stay readable by 1.0 peers), then the body and the NUL. A header that v
// cannot carry (a line break in a 1.0 value, an empty name) is left out.
// A body holding a NUL needs a content-length header, which the caller
// supplies; Parse of the result gives f back.
func AppendFrame(dst []byte, v Version, f *Frame) []byte {
	esc := escapingFor(v, f.Command)
	dst = append(dst, f.Command...)
	dst = append(dst, '\n')
	for _, h := range f.Headers {
		dst = appendHeader(dst, esc, h.Key, h.Value)
	}
	dst = append(dst, '\n')
	dst = append(dst, f.Body...)
	return append(dst, 0)
}

// appendHeader appends "key:value\n" escaped by esc, or nothing when esc
// cannot represent the entry.
func appendHeader(dst []byte, esc escaping, key, value string) []byte {
	if !representable(esc, key, true) || !representable(esc, value, false) {
		return dst
	}
	dst = appendEscaped(dst, esc, key)
	dst = append(dst, ':')
	dst = appendEscaped(dst, esc, value)
	if esc != esc12 && strings.HasSuffix(value, "\r") {
		// Unescaped, a trailing CR would be taken for half of a CRLF
		// line end; end the line with CRLF so exactly that CR goes.
		dst = append(dst, '\r')
	}
	return append(dst, '\n')
}

// appendIntHeader appends "key:n\n"; key needs no escaping.
func appendIntHeader(dst []byte, key string, n int) []byte {
	dst = append(dst, key...)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '\n')
}
