//go:build linux

// Package poll is Herald's event loop: connections are registered with
// epoll (edge-triggered) and served by a few loop goroutines, so an idle
// connection costs no goroutine and no read buffer.
//
// Ownership rules, which keep file descriptors safe to reuse:
//   - only the loop goroutine reads from a connection and only it closes the
//     descriptor, after marking the connection closed under its write lock;
//   - writers (flush workers) hold the write lock, so they never write to a
//     descriptor that was closed and reused;
//   - Close from any goroutine only shuts the socket down; the resulting
//     hang-up event makes the loop finish the close.
//   - PauseReads only sets a flag the loop checks before each read;
//     ResumeReads re-arms the descriptor (EPOLL_CTL_MOD) under the write
//     lock after checking it is not closed, so it never touches a reused
//     descriptor either.
package poll

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Errors returned by the write side.
var (
	ErrClosed      = errors.New("poll: connection closed")
	ErrWouldBlock  = errors.New("poll: socket buffer full")
	ErrNotPollable = errors.New("poll: connection has no file descriptor")
)

// Handler receives a connection's events. All three run on the loop
// goroutine and must not block: parse, enqueue, return.
type Handler interface {
	// OnRead is called with newly read bytes; p is reused after the call.
	OnRead(p []byte)
	// OnWritable is called when the socket drains after a short write.
	OnWritable()
	// OnClose is called once, after the descriptor is closed.
	OnClose(err error)
}

// Poller owns the epoll loops.
type Poller struct {
	loops  []*loop
	next   atomic.Uint32
	closed atomic.Bool
	done   chan struct{} // stops the nudger
	wg     sync.WaitGroup
}

// nudgeInterval is how often every loop is woken regardless of events
// (see loop.wake).
const nudgeInterval = time.Second

// New starts n loops (n <= 0 means one per CPU, at most 4: reading is cheap
// next to the application work the loops hand off).
func New(n int) (*Poller, error) {
	if n <= 0 {
		n = min(runtime.GOMAXPROCS(0), 4)
	}
	p := &Poller{done: make(chan struct{})}
	for range n {
		l, err := newLoop()
		if err != nil {
			p.Close()
			return nil, err
		}
		p.loops = append(p.loops, l)
		p.wg.Add(1)
		go func() { defer p.wg.Done(); l.run() }()
	}
	p.wg.Add(1)
	go p.nudge()
	return p, nil
}

func (p *Poller) nudge() {
	defer p.wg.Done()
	t := time.NewTicker(nudgeInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			for _, l := range p.loops {
				l.wake()
			}
		case <-p.done:
			return
		}
	}
}

// Add takes over c: its descriptor is duplicated into non-blocking mode and
// registered, and c itself is closed. The caller must deliver any bytes it
// already buffered from c (for example after an HTTP hijack) to h in
// setup, which runs after the Conn exists and before it is registered, since
// events may arrive as soon as it is. setup may be nil.
func (p *Poller) Add(c net.Conn, h Handler, setup func(*Conn)) (*Conn, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	fd, err := dupFD(c)
	if err != nil {
		return nil, err
	}
	conn := &Conn{fd: fd, h: h}
	c.Close() // the duplicate keeps the socket open
	l := p.loops[int(p.next.Add(1))%len(p.loops)]
	l.assign(conn)
	if setup != nil {
		setup(conn)
	}
	if err := l.add(conn); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return conn, nil
}

// Close stops the loops and closes every connection still registered.
func (p *Poller) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	close(p.done)
	for _, l := range p.loops {
		l.stop()
	}
	p.wg.Wait()
	return nil
}

// Pollable reports whether Add can take c (a plain TCP or Unix socket; TLS
// connections are not, and are served by goroutines instead).
func Pollable(c net.Conn) bool {
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

func dupFD(c net.Conn) (int, error) {
	if !Pollable(c) {
		return -1, fmt.Errorf("%w: %T", ErrNotPollable, c)
	}
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.Dup(int(s)) }); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
