package core

import (
	"net"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/poll"
)

// transport is the byte pipe under a session: a polled socket (no
// goroutine while idle) or, for connections epoll cannot serve (TLS), a
// plain net.Conn with a reader and a writer goroutine.
type transport interface {
	// Writev writes bufs. A polled socket returns poll.ErrWouldBlock with
	// the partial count when full; a blocking one writes all or fails.
	Writev(bufs [][]byte) (int, error)
	CloseWrite() error
	Close() error
	RemoteAddr() net.Addr
	blocking() bool
	// pauseReads and resumeReads stop and restart reading from the peer
	// (Session.PauseReads).
	pauseReads()
	resumeReads()
}

type polled struct{ *poll.Conn }

func (polled) blocking() bool { return false }
func (p polled) pauseReads()  { p.PauseReads() }
func (p polled) resumeReads() { p.ResumeReads() }

// streamConn serves a net.Conn with goroutines. Its reader calls the
// session's OnRead/OnClose exactly like the poller does.
type streamConn struct {
	c       net.Conn
	timeout time.Duration

	pmu    sync.Mutex
	paused bool
	closed bool
	resume chan struct{} // made by pauseReads, closed by resumeReads
}

func (s *streamConn) pauseReads() {
	s.pmu.Lock()
	if !s.paused && !s.closed {
		s.paused, s.resume = true, make(chan struct{})
	}
	s.pmu.Unlock()
}

func (s *streamConn) resumeReads() {
	s.pmu.Lock()
	if s.paused {
		s.paused = false
		close(s.resume)
	}
	s.pmu.Unlock()
}

// gate holds the reader while reads are paused.
func (s *streamConn) gate() {
	s.pmu.Lock()
	ch, paused := s.resume, s.paused
	s.pmu.Unlock()
	if paused {
		<-ch
	}
}

func (s *streamConn) Writev(bufs [][]byte) (int, error) {
	if s.timeout > 0 {
		s.c.SetWriteDeadline(time.Now().Add(s.timeout))
	}
	nb := net.Buffers(bufs)
	n, err := nb.WriteTo(s.c)
	return int(n), err
}

func (s *streamConn) CloseWrite() error {
	if cw, ok := s.c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Close also releases a paused reader, which then sees the closed
// connection.
func (s *streamConn) Close() error {
	s.pmu.Lock()
	s.closed = true
	s.pmu.Unlock()
	s.resumeReads()
	return s.c.Close()
}
func (s *streamConn) RemoteAddr() net.Addr { return s.c.RemoteAddr() }
func (s *streamConn) blocking() bool       { return true }

// serve reads until the connection ends. The buffer is released between
// reads only by the garbage collector; stream connections are the
// uncommon path (TLS, tests), so simplicity wins here.
func (s *streamConn) serve(h interface {
	OnRead([]byte)
	OnClose(error)
}) {
	buf := make([]byte, 16<<10)
	for {
		s.gate()
		n, err := s.c.Read(buf)
		if n > 0 {
			h.OnRead(buf[:n])
		}
		if err != nil {
			s.c.Close()
			h.OnClose(err)
			return
		}
	}
}
