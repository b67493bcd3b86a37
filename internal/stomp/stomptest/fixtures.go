// Package stomptest holds what STOMP tests share: a table of raw frames
// with what they parse into, and a small client that speaks raw frames
// over TCP or WebSocket.
package stomptest

import (
	"strings"

	"github.com/heraldhq/herald/internal/stomp"
)

// Fixture is a raw byte stream and what a parser makes of it.
type Fixture struct {
	Name    string
	Version stomp.Version // the parser's version (how headers unescape)
	Limits  stomp.Limits  // zero: the defaults
	Raw     string
	Frames  []stomp.Frame // the frames read before any error, in order
	Err     string        // a substring of the parse error; "" for none
}

// Small limits for the limit fixtures.
var small = stomp.Limits{MaxHeaders: 3, MaxHeaderSize: 32, MaxBody: 16}

func h(kv ...string) []stomp.Header {
	var hs []stomp.Header
	for i := 0; i+1 < len(kv); i += 2 {
		hs = append(hs, stomp.Header{Key: kv[i], Value: kv[i+1]})
	}
	return hs
}

// Fixtures covers each version's escaping, line ends, bodies and limits.
var Fixtures = []Fixture{
	{
		Name: "connect with LF line ends", Version: 0,
		Raw:    "CONNECT\naccept-version:1.0,1.1,1.2\nhost:example.com\n\n\x00",
		Frames: []stomp.Frame{{Command: "CONNECT", Headers: h("accept-version", "1.0,1.1,1.2", "host", "example.com")}},
	},
	{
		Name: "connect with CRLF line ends", Version: 0,
		Raw:    "STOMP\r\naccept-version:1.2\r\nhost:h\r\n\r\n\x00\r\n",
		Frames: []stomp.Frame{{Command: "STOMP", Headers: h("accept-version", "1.2", "host", "h")}},
	},
	{
		Name: "CONNECT headers are never unescaped", Version: stomp.V12,
		Raw:    "CONNECT\nlogin:a\\cb\npasscode:x\\ty\n\n\x00",
		Frames: []stomp.Frame{{Command: "CONNECT", Headers: h("login", `a\cb`, "passcode", `x\ty`)}},
	},
	{
		Name: "binary body with NUL octets via content-length", Version: stomp.V12,
		Raw:    "SEND\ndestination:/queue/a\ncontent-length:5\n\na\x00b\x00c\x00",
		Frames: []stomp.Frame{{Command: "SEND", Headers: h("destination", "/queue/a", "content-length", "5"), Body: []byte("a\x00b\x00c")}},
	},
	{
		Name: "body up to the NUL without content-length", Version: stomp.V12,
		Raw:    "SEND\ndestination:/topic/a\n\nhello\nworld\x00",
		Frames: []stomp.Frame{{Command: "SEND", Headers: h("destination", "/topic/a"), Body: []byte("hello\nworld")}},
	},
	{
		Name: "content-length zero", Version: stomp.V12,
		Raw:    "SEND\ndestination:/topic/a\ncontent-length:0\n\n\x00",
		Frames: []stomp.Frame{{Command: "SEND", Headers: h("destination", "/topic/a", "content-length", "0")}},
	},
	{
		Name: "content-length with spaces (1.0 clients)", Version: stomp.V10,
		Raw:    "SEND\ndestination:/topic/a\ncontent-length: 2 \n\nhi\x00",
		Frames: []stomp.Frame{{Command: "SEND", Headers: h("destination", "/topic/a", "content-length", " 2 "), Body: []byte("hi")}},
	},
	{
		Name: "heart-beats between frames and several frames in one chunk", Version: stomp.V12,
		Raw: "\n\r\n\nBEGIN\ntransaction:t1\n\n\x00\n\nCOMMIT\ntransaction:t1\n\n\x00\r\n\n",
		Frames: []stomp.Frame{
			{Command: "BEGIN", Headers: h("transaction", "t1")},
			{Command: "COMMIT", Headers: h("transaction", "t1")},
		},
	},
	{
		Name: "repeated headers are all kept, in order", Version: stomp.V12,
		Raw:    "SEND\ndestination:/topic/first\ndestination:/topic/second\nfoo:1\nfoo:2\n\n\x00",
		Frames: []stomp.Frame{{Command: "SEND", Headers: h("destination", "/topic/first", "destination", "/topic/second", "foo", "1", "foo", "2")}},
	},
	{
		Name: "only the first content-length counts", Version: stomp.V12,
		Raw:    "SEND\ndestination:/topic/a\ncontent-length:3\ncontent-length:junk\n\na\x00c\x00",
		Frames: []stomp.Frame{{Command: "SEND", Headers: h("destination", "/topic/a", "content-length", "3", "content-length", "junk"), Body: []byte("a\x00c")}},
	},
	{
		Name: "1.2 escapes: \\r \\n \\c \\\\ in names and values", Version: stomp.V12,
		Raw:    "SEND\ndestination:/topic/a\nk\\cx:v\\r\\n\\c\\\\end\n\n\x00",
		Frames: []stomp.Frame{{Command: "SEND", Headers: h("destination", "/topic/a", "k:x", "v\r\n:\\end")}},
	},
	{
		Name: "1.2 keeps spaces around values", Version: stomp.V12,
		Raw:    "SEND\ndestination:/topic/a\nfoo: bar \n\n\x00",
		Frames: []stomp.Frame{{Command: "SEND", Headers: h("destination", "/topic/a", "foo", " bar ")}},
	},
	{
		Name: "1.1 escapes: \\n \\c \\\\", Version: stomp.V11,
		Raw:    "MESSAGE\ndestination:/topic/a\nk:a\\nb\\cc\\\\d\n\n\x00",
		Frames: []stomp.Frame{{Command: "MESSAGE", Headers: h("destination", "/topic/a", "k", "a\nb:c\\d")}},
	},
	{
		Name: "1.1 has no \\r escape", Version: stomp.V11,
		Raw: "SEND\ndestination:/topic/a\nk:a\\rb\n\n\x00",
		Err: "undefined escape sequence",
	},
	{
		Name: "1.0 does not escape", Version: stomp.V10,
		Raw:    "SEND\ndestination:/topic/a\nk:a\\nb\\tc\n\n\x00",
		Frames: []stomp.Frame{{Command: "SEND", Headers: h("destination", "/topic/a", "k", `a\nb\tc`)}},
	},
	{
		Name: "a colon in a value is kept", Version: stomp.V10,
		Raw:    "SEND\ndestination:/queue/a:b\n\n\x00",
		Frames: []stomp.Frame{{Command: "SEND", Headers: h("destination", "/queue/a:b")}},
	},
	{
		Name: "undefined escape", Version: stomp.V12,
		Raw: "SEND\ndestination:/topic/a\nk:a\\tb\n\n\x00",
		Err: "undefined escape sequence",
	},
	{
		Name: "trailing backslash", Version: stomp.V12,
		Raw: "SEND\ndestination:/topic/a\nk:ab\\\n\n\x00",
		Err: "undefined escape sequence",
	},
	{
		Name: "header without a colon", Version: stomp.V12,
		Raw: "SEND\ndestination\n\n\x00",
		Err: "header line without a colon",
	},
	{
		Name: "header without a name", Version: stomp.V12,
		Raw: "SEND\n:value\n\n\x00",
		Err: "header line without a name",
	},
	{
		Name: "lower-case command", Version: stomp.V12,
		Raw: "send\ndestination:/topic/a\n\n\x00",
		Err: "invalid command line",
	},
	{
		Name: "content-length that does not match the body", Version: stomp.V12,
		Raw: "SEND\ndestination:/topic/a\ncontent-length:2\n\nabc\x00",
		Err: "not followed by a NUL",
	},
	{
		Name: "content-length that is not a number", Version: stomp.V12,
		Raw: "SEND\ndestination:/topic/a\ncontent-length:12a\n\nabc\x00",
		Err: "invalid content-length",
	},
	{
		Name: "negative content-length", Version: stomp.V12,
		Raw: "SEND\ndestination:/topic/a\ncontent-length:-1\n\n\x00",
		Err: "invalid content-length",
	},
	{
		Name: "headers that are not UTF-8", Version: stomp.V12,
		Raw: "SEND\ndestination:/topic/\xff\n\n\x00",
		Err: "not valid UTF-8",
	},
	{
		Name: "NUL in the headers (blank line missing)", Version: stomp.V12,
		Raw: "DISCONNECT\n\x00\n\n\x00",
		Err: "NUL octet in the command or headers",
	},
	{
		Name: "carriage return alone between frames", Version: stomp.V12,
		Raw: "\rSEND\n\n\x00",
		Err: "carriage return not followed by a line feed",
	},
	{
		Name: "frames before an error are read", Version: stomp.V12,
		Raw:    "BEGIN\ntransaction:t\n\n\x00oops\n\n\x00",
		Frames: []stomp.Frame{{Command: "BEGIN", Headers: h("transaction", "t")}},
		Err:    "invalid command line",
	},
	{
		Name: "content-length beyond the body limit", Version: stomp.V12, Limits: small,
		Raw: "SEND\ncontent-length:17\n\n",
		Err: "frame body too large: content-length 17, limit 16",
	},
	{
		Name: "content-length at the body limit", Version: stomp.V12, Limits: small,
		Raw:    "SEND\ncontent-length:16\n\n0123456789abcdef\x00",
		Frames: []stomp.Frame{{Command: "SEND", Headers: h("content-length", "16"), Body: []byte("0123456789abcdef")}},
	},
	{
		Name: "NUL-terminated body beyond the limit", Version: stomp.V12, Limits: small,
		Raw: "SEND\n\n0123456789abcdefg",
		Err: "frame body too large",
	},
	{
		Name: "too many headers", Version: stomp.V12, Limits: small,
		Raw: "SEND\na:1\nb:2\nc:3\nd:4\n\n\x00",
		Err: "too many headers: more than 3",
	},
	{
		Name: "header line too long", Version: stomp.V12, Limits: small,
		Raw: "SEND\nx:" + strings.Repeat("y", 40) + "\n\n\x00",
		Err: "header line too long",
	},
	{
		Name: "header line too long, never ended", Version: stomp.V12, Limits: small,
		Raw: "SEND\nx:" + strings.Repeat("y", 40),
		Err: "header line too long",
	},
	{
		Name: "command line too long", Version: stomp.V12, Limits: small,
		Raw: strings.Repeat("S", 40),
		Err: "command line too long",
	},
	{
		Name: "an incomplete frame is no error", Version: stomp.V12,
		Raw: "SEND\ndestination:/topic/a\ncontent-length:10\n\nabc",
	},
	{
		Name: "server frames parse too", Version: stomp.V12,
		Raw: "CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\x00RECEIPT\nreceipt-id:r\\c1\n\n\x00ERROR\nmessage:bad\ncontent-length:3\n\nbad\x00",
		Frames: []stomp.Frame{
			{Command: "CONNECTED", Headers: h("version", "1.2", "heart-beat", "0,0")},
			{Command: "RECEIPT", Headers: h("receipt-id", "r:1")},
			{Command: "ERROR", Headers: h("message", "bad", "content-length", "3"), Body: []byte("bad")},
		},
	},
}
