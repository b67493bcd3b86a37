package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/heraldhq/herald/internal/wsframe"
)

// Target is a parsed ws:// URL.
type Target struct {
	Addr string // host:port to dial
	Host string // Host header
	Path string // request path and query
}

// ParseTarget accepts ws://host[:port]/path (port 80 by default). wss is
// refused: the tool measures the gateway, not TLS.
func ParseTarget(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("bad --url: %w", err)
	}
	if u.Scheme != "ws" {
		return Target{}, fmt.Errorf("bad --url %q: only ws:// is supported", raw)
	}
	if u.Host == "" {
		return Target{}, fmt.Errorf("bad --url %q: no host", raw)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	path := u.RequestURI()
	return Target{Addr: addr, Host: u.Host, Path: path}, nil
}

var errHandshake = errors.New("websocket handshake failed")

// handshake performs the client side of the opening handshake on nc: it
// writes the upgrade request and reads the response into buf, checking the
// 101 status, the Upgrade and Connection headers, Sec-WebSocket-Accept and
// the selected subprotocol. It returns the bytes that followed the response
// (frames the server sent right away), which alias buf.
func handshake(nc net.Conn, t Target, proto string, buf []byte) ([]byte, error) {
	var raw [16]byte
	rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])

	req := make([]byte, 0, 256)
	req = append(req, "GET "...)
	req = append(req, t.Path...)
	req = append(req, " HTTP/1.1\r\nHost: "...)
	req = append(req, t.Host...)
	req = append(req, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "...)
	req = append(req, key...)
	if proto != "" {
		req = append(req, "\r\nSec-WebSocket-Protocol: "...)
		req = append(req, proto...)
	}
	req = append(req, "\r\n\r\n"...)
	if _, err := nc.Write(req); err != nil {
		return nil, fmt.Errorf("%w: write request: %w", errHandshake, err)
	}

	n, end := 0, -1
	for end < 0 {
		if n == len(buf) {
			return nil, fmt.Errorf("%w: response headers exceed %d bytes", errHandshake, len(buf))
		}
		m, err := nc.Read(buf[n:])
		n += m
		end = bytes.Index(buf[:n], []byte("\r\n\r\n"))
		if end < 0 && err != nil {
			return nil, fmt.Errorf("%w: read response: %w", errHandshake, err)
		}
	}
	if err := checkResponse(string(buf[:end]), key, proto); err != nil {
		return nil, err
	}
	return buf[end+4 : n], nil
}

// checkResponse validates the status line and headers of a handshake
// response (without the final blank line).
func checkResponse(head, key, proto string) error {
	status, rest, _ := strings.Cut(head, "\r\n")
	if !strings.HasPrefix(status, "HTTP/1.1 101 ") && status != "HTTP/1.1 101" {
		return fmt.Errorf("%w: server answered %q", errHandshake, status)
	}
	var upgrade, connection, accept, gotProto string
	for line := range strings.SplitSeq(rest, "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "upgrade":
			upgrade = value
		case "connection":
			connection = value
		case "sec-websocket-accept":
			accept = value
		case "sec-websocket-protocol":
			gotProto = value
		}
	}
	switch {
	case !strings.EqualFold(upgrade, "websocket"):
		return fmt.Errorf("%w: Upgrade header %q", errHandshake, upgrade)
	case !strings.Contains(strings.ToLower(connection), "upgrade"):
		return fmt.Errorf("%w: Connection header %q", errHandshake, connection)
	case accept != wsframe.AcceptKey(key):
		return fmt.Errorf("%w: Sec-WebSocket-Accept %q does not match the key", errHandshake, accept)
	case gotProto != proto:
		return fmt.Errorf("%w: server selected subprotocol %q, asked for %q", errHandshake, gotProto, proto)
	}
	return nil
}
