package core

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Stream says how ServeStream answers.
type Stream struct {
	SessionID string      // the session's id; "" for a new one
	Header    http.Header // response headers (Content-Type, CORS...)
	Protocol  string      // the session's Scope.Protocol
	Transport string      // its Scope.Transport, e.g. "sse"
	Identity  Identity
	Adapter   Adapter
}

// ServeStream answers r with 200 and a body that stays open as a raw
// session of st.Adapter: what the session sends is the body. start runs
// once the session is live, on the calling goroutine (subscribe there:
// the session can receive from then on).
//
// Over HTTP/1.x the connection is taken over and served by the event loop
// like a WebSocket, so an idle stream holds no goroutine; the response
// has no length and "Connection: close", so the body ends when the
// connection does. When the connection cannot be taken over (HTTP/2) the
// calling goroutine serves the stream, flushing after each write, until
// the session or the request ends; ServeStream returns then.
func (c *Core) ServeStream(w http.ResponseWriter, r *http.Request, st Stream, start func(*Session)) {
	scope := Scope{
		SessionID:  st.SessionID,
		RemoteAddr: c.ClientAddr(r),
		Protocol:   st.Protocol,
		Transport:  st.Transport,
		Identity:   st.Identity,
	}
	if scope.SessionID == "" {
		scope.SessionID = newID()
	}
	scope.SetHeader(r.Header)
	ticket, err := c.Admit(c.ClientAddr(r))
	if err != nil {
		c.m.rejected.Inc()
		RefuseHTTP(w, err)
		return
	}
	if hj, ok := w.(http.Hijacker); ok && r.ProtoMajor == 1 {
		conn, brw, err := hj.Hijack()
		if err != nil {
			ticket.Release()
			c.log.Warn("hijack failed", "err", err)
			return
		}
		if _, err := conn.Write(responseHead(r, st.Header)); err != nil {
			ticket.Release()
			conn.Close()
			return
		}
		s := c.newSession(scope, false, false)
		s.ticket = ticket
		c.attach(s, st.Adapter, conn, brw.Reader)
		if s.tr != nil && s.Open() {
			start(s)
		}
		return
	}
	c.serveResponse(w, r, scope, st, start, ticket)
}

// NewSessionID returns a fresh session id, for callers that need it
// before the session exists (to authorize in its name).
func NewSessionID() string { return newID() }

// responseHead is the status line and headers of a body delimited by the
// connection's close.
func responseHead(r *http.Request, h http.Header) []byte {
	var b strings.Builder
	b.WriteString("HTTP/1.1 200 OK\r\n")
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			if strings.ContainsAny(k, "\r\n: ") || strings.ContainsAny(v, "\r\n") {
				continue // never let a value split the head
			}
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteString("\r\n")
		}
	}
	b.WriteString("Date: ")
	b.WriteString(time.Now().UTC().Format(http.TimeFormat))
	b.WriteString("\r\nConnection: close\r\n\r\n")
	return []byte(b.String())
}

// serveResponse serves the session on the handler's goroutine, writing
// through w (HTTP/2 streams cannot be taken over).
func (c *Core) serveResponse(w http.ResponseWriter, r *http.Request, scope Scope, st Stream, start func(*Session), ticket *Ticket) {
	for k, vs := range st.Header {
		w.Header()[k] = vs
	}
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		ticket.Release()
		return
	}
	rw := &respConn{w: w, rc: rc, timeout: c.cfg.WriteTimeout, remote: stringAddr(r.RemoteAddr), done: make(chan struct{})}
	s := c.newSession(scope, false, false)
	s.ticket = ticket
	s.wake = make(chan struct{}, 1)
	s.bind(st.Adapter, rw, nil)
	if !c.add(s) {
		s.OnClose(ErrClosed)
		return
	}
	start(s)
	ctx := r.Context()
serve:
	for {
		select {
		case _, ok := <-s.wake:
			if !ok {
				break serve
			}
			s.Run()
		case <-rw.done:
			break serve
		case <-ctx.Done():
			break serve
		}
	}
	rw.Close()
	s.OnClose(context.Cause(ctx))
}

// respConn writes a session's bytes to an HTTP response.
type respConn struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	remote  net.Addr
	once    sync.Once
	done    chan struct{}
}

func (rw *respConn) Writev(bufs [][]byte) (int, error) {
	if rw.timeout > 0 {
		rw.rc.SetWriteDeadline(time.Now().Add(rw.timeout))
	}
	n := 0
	for _, b := range bufs {
		k, err := rw.w.Write(b)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, rw.rc.Flush()
}

// CloseWrite ends the response: the client reconnects if it wants more.
func (rw *respConn) CloseWrite() error { return rw.Close() }

// Close makes the serving goroutine end the response; it never calls
// into the session itself.
func (rw *respConn) Close() error {
	rw.once.Do(func() { close(rw.done) })
	return nil
}

func (rw *respConn) RemoteAddr() net.Addr { return rw.remote }
func (rw *respConn) blocking() bool       { return true }
func (rw *respConn) pauseReads()          {}
func (rw *respConn) resumeReads()         {}
