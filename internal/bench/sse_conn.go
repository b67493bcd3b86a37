package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// A lean Server-Sent Events subscriber: a raw HTTP/1.1 GET, the response
// head checked, then the body split into lines by one reader goroutine
// with a fixed buffer. Only identity bodies are read (Herald delimits the
// stream by closing the connection); a chunked stream is refused rather
// than misread.

var errSSE = errors.New("sse")

// lineReader splits a byte stream into lines (LF or CRLF). Complete
// lines are handed over in place; a line cut by a read boundary is kept.
type lineReader struct {
	Max int // longest line accepted
	acc []byte
}

// Feed calls fn with each complete line of p, without its line end.
func (r *lineReader) Feed(p []byte, fn func(line []byte)) error {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if r.Max > 0 && len(r.acc)+len(p) > r.Max {
				return fmt.Errorf("%w: line longer than %d bytes", errSSE, r.Max)
			}
			r.acc = append(r.acc, p...)
			return nil
		}
		line := p[:i]
		if len(r.acc) > 0 {
			r.acc = append(r.acc, line...)
			line = r.acc
		}
		fn(bytes.TrimSuffix(line, []byte("\r")))
		r.acc = r.acc[:0]
		p = p[i+1:]
	}
	return nil
}

// sseTarget is a parsed http:// events URL.
type sseTarget struct {
	Addr string
	Host string
	Path string // path and query
}

func parseSSETarget(raw string) (sseTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return sseTarget{}, fmt.Errorf("bad --url: %w", err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return sseTarget{}, fmt.Errorf("bad --url %q: need http://host[:port]/path", raw)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return sseTarget{Addr: addr, Host: u.Host, Path: u.RequestURI()}, nil
}

// sseConn is one subscriber stream.
type sseConn struct {
	ID     int
	OnLine func(line []byte) // reader goroutine; line valid during the call
	// AfterRead runs after each socket read has been parsed. May be nil.
	AfterRead func()

	nc      net.Conn
	lr      lineReader
	buf     []byte
	pending []byte
	stats   *Stats
	closing atomic.Bool
	done    chan struct{}
	err     error
}

// dialSSE opens the stream GET path and checks the response head.
func dialSSE(ctx context.Context, t sseTarget, path string, sources []netip.Addr, id, bufSize int,
	timeout time.Duration, stats *Stats) (*sseConn, error) {
	nc, err := dialFrom(ctx, sources, id, t.Addr, timeout)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(timeout))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + t.Host + "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		nc.Close()
		return nil, err
	}
	buf := make([]byte, max(bufSize, 1024))
	n, end := 0, -1
	for end < 0 {
		if n == len(buf) {
			nc.Close()
			return nil, fmt.Errorf("%w: response head exceeds %d bytes", errSSE, len(buf))
		}
		m, err := nc.Read(buf[n:])
		n += m
		end = bytes.Index(buf[:n], []byte("\r\n\r\n"))
		if end < 0 && err != nil {
			nc.Close()
			return nil, fmt.Errorf("%w: read response: %w", errSSE, err)
		}
	}
	if err := checkSSEHead(string(buf[:end])); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	c := &sseConn{ID: id, nc: nc, buf: buf, pending: buf[end+4 : n], stats: stats, done: make(chan struct{})}
	c.lr.Max = 1 << 20
	return c, nil
}

// checkSSEHead accepts a 200 text/event-stream response with an identity
// body.
func checkSSEHead(head string) error {
	status, rest, _ := strings.Cut(head, "\r\n")
	if !strings.HasPrefix(status, "HTTP/1.1 200") && !strings.HasPrefix(status, "HTTP/1.0 200") {
		return fmt.Errorf("%w: server answered %q", errSSE, status)
	}
	var ctype, te string
	for line := range strings.SplitSeq(rest, "\r\n") {
		name, value, _ := strings.Cut(line, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-type":
			ctype = strings.TrimSpace(value)
		case "transfer-encoding":
			te = strings.TrimSpace(value)
		}
	}
	if !strings.HasPrefix(ctype, "text/event-stream") {
		return fmt.Errorf("%w: Content-Type %q", errSSE, ctype)
	}
	if te != "" && !strings.EqualFold(te, "identity") {
		return fmt.Errorf("%w: Transfer-Encoding %q is not supported", errSSE, te)
	}
	return nil
}

func (c *sseConn) start() {
	c.stats.Open.Add(1)
	go c.readLoop()
}

func (c *sseConn) readLoop() {
	defer close(c.done)
	defer c.stats.Open.Add(-1)
	defer c.nc.Close()
	feed := func(p []byte) bool {
		err := c.lr.Feed(p, c.OnLine)
		if c.AfterRead != nil {
			c.AfterRead()
		}
		if err != nil {
			c.err = err
			c.stats.Errors.Add(1)
			return false
		}
		return true
	}
	if len(c.pending) > 0 {
		p := c.pending // aliases buf: parse it before the first Read
		c.pending = nil
		if !feed(p) {
			return
		}
	}
	for {
		n, err := c.nc.Read(c.buf)
		if n > 0 && !feed(c.buf[:n]) {
			return
		}
		if err != nil {
			if !c.closing.Load() {
				c.err = err
				c.stats.Errors.Add(1)
			}
			return
		}
	}
}

// closeSSE drops every stream (an event stream has no closing handshake)
// and waits for the readers.
func closeSSE(conns []*sseConn) {
	for _, c := range conns {
		c.closing.Store(true)
		c.nc.Close()
	}
	for _, c := range conns {
		<-c.done
	}
}
