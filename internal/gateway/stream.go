package gateway

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/poll"
)

func tlsDialer(d *net.Dialer, cfg *tls.Config, _ string) *tls.Dialer {
	// tls.Dialer takes the server name from the address when the config
	// has none.
	return &tls.Dialer{NetDialer: d, Config: cfg}
}

// streamWriteTimeout bounds one blocking write to a TLS backend; a
// backend that takes nothing for this long is treated as lost.
const streamWriteTimeout = time.Minute

// streamBackend serves a backend connection epoll cannot (TLS) with a
// reader and a writer goroutine, behind the same interface and events as
// a polled one: Writev takes bytes up to a limit and reports
// poll.ErrWouldBlock beyond, then OnWritable; reads can be paused.
type streamBackend struct {
	c     net.Conn
	h     poll.Handler
	limit int

	mu        sync.Mutex
	cond      sync.Cond
	buf       []byte // waiting for the writer
	wantWrite bool   // Writev refused: report OnWritable once buf is written
	closeW    bool   // CloseWrite after buf
	closed    bool
	paused    bool
}

func newStreamBackend(c net.Conn, h poll.Handler, limit int) *streamBackend {
	b := &streamBackend{c: c, h: h, limit: limit}
	b.cond.L = &b.mu
	return b
}

func (b *streamBackend) start() {
	go b.read()
	go b.write()
}

func (b *streamBackend) Writev(bufs [][]byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, poll.ErrClosed
	}
	if len(b.buf) >= b.limit {
		b.wantWrite = true
		return 0, poll.ErrWouldBlock
	}
	n := 0
	for _, p := range bufs {
		b.buf = append(b.buf, p...)
		n += len(p)
	}
	b.cond.Broadcast()
	return n, nil
}

func (b *streamBackend) CloseWrite() error {
	b.mu.Lock()
	b.closeW = true
	b.cond.Broadcast()
	b.mu.Unlock()
	return nil
}

func (b *streamBackend) Close() error {
	b.mu.Lock()
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
	return b.c.Close()
}

func (b *streamBackend) PauseReads() {
	b.mu.Lock()
	b.paused = true
	b.mu.Unlock()
}

func (b *streamBackend) ResumeReads() {
	b.mu.Lock()
	b.paused = false
	b.cond.Broadcast()
	b.mu.Unlock()
}

func (b *streamBackend) read() {
	buf := make([]byte, 32<<10)
	for {
		b.mu.Lock()
		for b.paused && !b.closed {
			b.cond.Wait()
		}
		b.mu.Unlock()
		n, err := b.c.Read(buf)
		if n > 0 {
			b.h.OnRead(buf[:n])
		}
		if err != nil {
			b.Close()
			if errors.Is(err, io.EOF) {
				err = nil
			}
			b.h.OnClose(err)
			return
		}
	}
}

func (b *streamBackend) write() {
	for {
		b.mu.Lock()
		for len(b.buf) == 0 && !b.closeW && !b.closed {
			b.cond.Wait()
		}
		if b.closed {
			b.mu.Unlock()
			return
		}
		p := b.buf
		b.buf = nil
		shut := b.closeW && len(p) == 0
		b.mu.Unlock()
		if shut {
			if cw, ok := b.c.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
			return
		}
		b.c.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := b.c.Write(p); err != nil {
			b.c.Close() // the reader reports it
			return
		}
		b.mu.Lock()
		notify := b.wantWrite && len(b.buf) == 0
		if notify {
			b.wantWrite = false
		}
		b.mu.Unlock()
		if notify {
			b.h.OnWritable()
		}
	}
}
