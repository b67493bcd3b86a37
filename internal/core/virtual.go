package core

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"

	"github.com/heraldhq/herald/internal/poll"
	"github.com/heraldhq/herald/internal/wsframe"
)

// Sink receives the outbound messages of a virtual session: a session
// whose transport is not one connection but a series of HTTP requests
// (long polling, HTTP streaming), so it outlives any of them.
//
// A virtual session is framed like a WebSocket session internally, so its
// protocol encodes exactly as for WebSocket (notifications are shared with
// WebSocket subscribers) and its close code and reason reach the sink;
// the transport splits the frames back into messages.
type Sink interface {
	// Accept takes the payloads of whole outbound messages, in order,
	// and returns how many it kept. Keeping fewer means it is full: the
	// rest stays in the session's queue, where the slow-consumer policy
	// applies, until the sink calls Session.OnWritable. The payloads are
	// not copied and must not be modified.
	Accept(msgs [][]byte) int
	// Closed is called once, after the session ended, with the close code
	// and reason its protocol wrote (0 and "" if none was).
	Closed(code uint16, reason string)
}

// OpenVirtual starts a session of adapter a whose messages go to sink and
// come from Receive. It fails with ErrClosed once shutdown has begun, and
// with an error of Admit when a connection limit refuses it.
func (c *Core) OpenVirtual(scope Scope, a Adapter, sink Sink) (*Session, error) {
	if scope.SessionID == "" {
		scope.SessionID = newID()
	}
	ticket, err := c.Admit(scope.RemoteAddr)
	if err != nil {
		return nil, err
	}
	s := c.newSession(scope, true, false)
	s.ticket = ticket
	v := &virtualConn{s: s, sink: sink, remote: stringAddr(scope.RemoteAddr)}
	s.bind(a, v, nil)
	if !c.add(s) {
		v.Close()
		ticket.Release()
		return nil, ErrClosed
	}
	return s, nil
}

// Receive hands one inbound message of a virtual session to its protocol
// (op is wsframe.OpText or OpBinary), as the event loop does for a socket.
// Calls are serialized; the message is discarded once the session is
// closing.
func (s *Session) Receive(op byte, data []byte) {
	v, ok := s.tr.(*virtualConn)
	if !ok {
		return
	}
	v.in.Lock()
	defer v.in.Unlock()
	if !s.Open() {
		return
	}
	s.lastRead.Store(uint32(s.core.now()))
	s.core.m.bytesIn.Add(float64(len(data)))
	s.core.m.msgsIn.Inc()
	if err := s.proto.OnMessage(op, data); err != nil {
		s.fail(err)
	}
}

// virtual reports whether s is a virtual session; the sweeper leaves
// those alone (their owner keeps its own expiry).
func (s *Session) virtual() bool {
	_, ok := s.tr.(*virtualConn)
	return ok
}

// virtualConn is the transport of a virtual session.
type virtualConn struct {
	s      *Session
	sink   Sink
	remote net.Addr
	in     sync.Mutex // serializes Receive

	mu     sync.Mutex // guards the fields below against a concurrent Close
	closed bool
	code   uint16
	reason string
	frames []vframe // scratch, reused by Writev (only the flush calls it)
	msgs   [][]byte
}

type vframe struct {
	op         byte
	payload    []byte
	start, end int
}

// Writev splits bufs, whole WebSocket frames written by the session, into
// messages for the sink. Control frames are dropped, except that a close
// frame's code and reason are kept for Sink.Closed. When the sink keeps
// only some messages it reports the bytes of the frames before the first
// refused one and poll.ErrWouldBlock, as a full socket does.
func (v *virtualConn) Writev(bufs [][]byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return 0, poll.ErrClosed
	}
	cur := cursor{bufs: bufs}
	frames := v.frames[:0]
	for {
		f, ok, err := cur.frame()
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		frames = append(frames, f)
	}
	msgs := v.msgs[:0]
	for _, f := range frames {
		if f.op == wsframe.OpText || f.op == wsframe.OpBinary {
			msgs = append(msgs, f.payload)
		}
	}
	kept := len(msgs)
	if kept > 0 {
		kept = v.sink.Accept(msgs)
	}
	written, seen := cur.pos, 0
	for _, f := range frames {
		if f.op == wsframe.OpText || f.op == wsframe.OpBinary {
			if seen == kept {
				written = f.start
				break
			}
			seen++
		} else if f.op == wsframe.OpClose && v.code == 0 {
			v.code, v.reason = wsframe.ParseClosePayload(f.payload)
		}
	}
	clear(frames)
	clear(msgs)
	v.frames, v.msgs = frames[:0], msgs[:0]
	if written < cur.pos {
		return written, poll.ErrWouldBlock
	}
	return written, nil
}

// CloseWrite ends the session: there is no peer to wait for.
func (v *virtualConn) CloseWrite() error { return v.Close() }

// Close ends the session once: its protocol and subscriptions go, then
// the sink hears of it.
func (v *virtualConn) Close() error {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil
	}
	v.closed = true
	code, reason := v.code, v.reason
	v.mu.Unlock()
	v.s.OnClose(nil)
	v.sink.Closed(code, reason)
	return nil
}

func (v *virtualConn) RemoteAddr() net.Addr { return v.remote }
func (v *virtualConn) blocking() bool       { return false }
func (v *virtualConn) pauseReads()          {}
func (v *virtualConn) resumeReads()         {}

// stringAddr is a remote address known only as text (from an HTTP
// request).
type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }

var errBadFrame = errors.New("core: malformed frame in a virtual session's queue")

// cursor reads frames from a list of buffers, in which a frame may span
// buffers (a header in Own, its payload in Shared).
type cursor struct {
	bufs [][]byte
	i    int // current buffer
	off  int // offset in it
	pos  int // bytes consumed in all
}

// frame reads the next frame; ok is false at the end of the buffers.
func (c *cursor) frame() (f vframe, ok bool, err error) {
	f.start = c.pos
	h, ok := c.take(2)
	if !ok {
		if c.pos != f.start {
			return f, false, errBadFrame
		}
		return f, false, nil
	}
	if h[1]&0x80 != 0 {
		return f, false, errBadFrame // the server never masks
	}
	f.op = h[0] & 0x0f
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		b, ok := c.take(2)
		if !ok {
			return f, false, errBadFrame
		}
		n = uint64(binary.BigEndian.Uint16(b))
	case 127:
		b, ok := c.take(8)
		if !ok {
			return f, false, errBadFrame
		}
		n = binary.BigEndian.Uint64(b)
	}
	if n > uint64(1<<62) {
		return f, false, errBadFrame
	}
	if f.payload, ok = c.take(int(n)); !ok {
		return f, false, errBadFrame
	}
	f.end = c.pos
	return f, true, nil
}

// take returns the next n bytes: a slice of one buffer when they lie in
// one (no copy: shared encodings stay shared), a copy otherwise.
func (c *cursor) take(n int) ([]byte, bool) {
	for c.i < len(c.bufs) && c.off == len(c.bufs[c.i]) {
		c.i, c.off = c.i+1, 0
	}
	if n == 0 {
		return nil, true
	}
	if c.i == len(c.bufs) {
		return nil, false
	}
	if b := c.bufs[c.i][c.off:]; len(b) >= n {
		c.off += n
		c.pos += n
		return b[:n:n], true
	}
	out := make([]byte, 0, n)
	for len(out) < n {
		if c.i == len(c.bufs) {
			return nil, false
		}
		b := c.bufs[c.i][c.off:]
		k := min(len(b), n-len(out))
		out = append(out, b[:k]...)
		c.off += k
		c.pos += k
		if c.off == len(c.bufs[c.i]) {
			c.i, c.off = c.i+1, 0
		}
	}
	return out, true
}
