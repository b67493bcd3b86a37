package bench

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The client side of STOMP 1.2 that the fanout scenario needs, written by
// hand like the MQTT one so that receiving a MESSAGE allocates nothing:
// CONNECT/CONNECTED, SUBSCRIBE with a receipt, SEND, MESSAGE, ERROR and
// DISCONNECT, over plain TCP or over WebSocket (subprotocol v12.stomp,
// frames in text messages). Heart-beats are declined (heart-beat:0,0); a
// stray EOL between frames is skipped anyway.

var errSTOMP = errors.New("stomp")

// stompDestination maps --topic to a STOMP destination: a name that
// starts with '/' is used as it is; otherwise it becomes /topic/<name>
// with '/' turned into '.', the spelling ActiveMQ, RabbitMQ and Herald
// all read as a topic (Herald's /topic/a.b is the topic a/b that MQTT and
// JSON clients see).
func stompDestination(topic string) string {
	if strings.HasPrefix(topic, "/") {
		return topic
	}
	return "/topic/" + strings.ReplaceAll(topic, "/", ".")
}

// stompEscape escapes a header value as STOMP 1.2 requires.
func stompEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\r", `\r`, "\n", `\n`, ":", `\c`).Replace(s)
}

// appendStompConnect appends a STOMP 1.2 CONNECT (login and passcode when
// login is not empty).
func appendStompConnect(b []byte, host, login, passcode string) []byte {
	b = append(b, "CONNECT\naccept-version:1.2\nheart-beat:0,0\nhost:"...)
	b = append(b, stompEscape(host)...)
	if login != "" {
		b = append(b, "\nlogin:"...)
		b = append(b, stompEscape(login)...)
		b = append(b, "\npasscode:"...)
		b = append(b, stompEscape(passcode)...)
	}
	return append(b, "\n\n\x00"...)
}

// appendStompSubscribe appends a SUBSCRIBE with ack:auto that asks for a
// receipt, so the subscriber knows when it is in place.
func appendStompSubscribe(b []byte, id, dest string) []byte {
	b = append(b, "SUBSCRIBE\nid:"...)
	b = append(b, id...)
	b = append(b, "\ndestination:"...)
	b = append(b, stompEscape(dest)...)
	b = append(b, "\nack:auto\nreceipt:sub-"...)
	b = append(b, id...)
	return append(b, "\n\n\x00"...)
}

// appendStompSendHeader appends the headers of a SEND whose body of n
// bytes the caller appends next, followed by appendStompEnd.
func appendStompSendHeader(b []byte, dest string, n int) []byte {
	b = append(b, "SEND\ndestination:"...)
	b = append(b, dest...)
	b = append(b, "\ncontent-type:text/plain\ncontent-length:"...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, "\n\n"...)
}

func appendStompEnd(b []byte) []byte { return append(b, 0) }

func appendStompDisconnect(b []byte) []byte { return append(b, "DISCONNECT\n\n\x00"...) }

// stompHeader returns the value of header name in a frame's header block
// (the lines after the command), undecoded; the first occurrence wins as
// STOMP 1.2 says.
func stompHeader(headers []byte, name string) ([]byte, bool) {
	for len(headers) > 0 {
		line := headers
		if i := bytes.IndexByte(headers, '\n'); i >= 0 {
			line, headers = headers[:i], headers[i+1:]
		} else {
			headers = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > len(name) && line[len(name)] == ':' && string(line[:len(name)]) == name {
			return line[len(name)+1:], true
		}
	}
	return nil, false
}

// stompReader splits a byte stream into STOMP frames. Frames are handed
// over in place; bytes of a frame cut by a read boundary are kept for the
// next Feed.
type stompReader struct {
	Max int // largest frame accepted
	acc []byte
}

// Feed parses p and calls fn with each frame's command, header block
// (without the command line and the blank line) and body, valid only
// during the call.
func (r *stompReader) Feed(p []byte, fn func(cmd, headers, body []byte) error) error {
	data := p
	if len(r.acc) > 0 {
		r.acc = append(r.acc, p...)
		data = r.acc
	}
	n, err := parseStompFrames(data, fn)
	if err != nil {
		return err
	}
	rest := data[n:]
	if r.Max > 0 && len(rest) > r.Max {
		return fmt.Errorf("%w: frame exceeds %d bytes", errSTOMP, r.Max)
	}
	r.acc = append(r.acc[:0], rest...)
	return nil
}

// parseStompFrames calls fn for each complete frame in data and returns
// how many bytes they took.
func parseStompFrames(data []byte, fn func(cmd, headers, body []byte) error) (int, error) {
	used := 0
	for {
		p := data[used:]
		skip := 0
		for skip < len(p) && (p[skip] == '\n' || p[skip] == '\r') {
			skip++ // heart-beats and EOLs after a frame's NUL
		}
		p = p[skip:]
		if len(p) == 0 {
			return used + skip, nil
		}
		end := bytes.Index(p, []byte("\n\n"))
		bodyAt := end + 2
		if crlf := bytes.Index(p, []byte("\r\n\r\n")); crlf >= 0 && (end < 0 || crlf < end) {
			end, bodyAt = crlf, crlf+4
		}
		if end < 0 {
			return used + skip, nil // headers incomplete
		}
		head := p[:end]
		cmd, headers := head, []byte(nil)
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			cmd, headers = head[:i], head[i+1:]
		}
		cmd = bytes.TrimSuffix(cmd, []byte("\r"))
		var body []byte
		var frameEnd int
		if cl, ok := stompHeader(headers, "content-length"); ok {
			n, err := strconv.Atoi(string(cl))
			if err != nil || n < 0 {
				return used, fmt.Errorf("%w: bad content-length %q", errSTOMP, cl)
			}
			if len(p) < bodyAt+n+1 {
				return used + skip, nil
			}
			if p[bodyAt+n] != 0 {
				return used, fmt.Errorf("%w: frame body not followed by NUL", errSTOMP)
			}
			body, frameEnd = p[bodyAt:bodyAt+n], bodyAt+n+1
		} else {
			z := bytes.IndexByte(p[bodyAt:], 0)
			if z < 0 {
				return used + skip, nil
			}
			body, frameEnd = p[bodyAt:bodyAt+z], bodyAt+z+1
		}
		if len(cmd) == 0 {
			return used, fmt.Errorf("%w: frame without a command", errSTOMP)
		}
		if err := fn(cmd, headers, body); err != nil {
			return used, err
		}
		used += skip + frameEnd
	}
}
