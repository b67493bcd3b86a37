package herald

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// ServeTCP accepts connections on ln and serves them with a byte-stream
// protocol ("stomp" or "mqtt") on the same event-driven core as
// WebSocket. Pass a TLS listener (crypto/tls.NewListener) for TLS. It
// returns ErrServerClosed after Shutdown, or the listener's error; either
// way ln is closed.
func (s *Server) ServeTCP(ln net.Listener, protocol string) error {
	a, ok := s.core.RawAdapter(protocol)
	if !ok {
		ln.Close()
		return fmt.Errorf("herald: no TCP protocol %q", protocol)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close() // ours to close, as it would be had Shutdown come later
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.acceptWG.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		s.acceptWG.Done()
	}()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTooManyFiles) {
				// Out of descriptors or a transient error: back off
				// rather than spin, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.core.ServeConn(conn, a, protocol)
	}
}

// closeListeners stops every ServeTCP loop and waits for them.
func (s *Server) closeListeners() {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	s.acceptWG.Wait()
}
