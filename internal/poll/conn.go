//go:build linux

package poll

import (
	"net"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxIov is the kernel's IOV_MAX; longer vectors are written in parts.
const maxIov = 1024

// Conn is a registered connection. Its write side is safe for concurrent
// use; reads happen only on the loop.
type Conn struct {
	fd     int
	gen    uint32
	closed bool // guarded by wmu; beside gen, so a Conn fits 64 bytes
	loop   *loop
	h      Handler

	wmu        sync.Mutex  // guards fd use by writers and the close
	wantWrite  atomic.Bool // a write hit EAGAIN: report the next EPOLLOUT
	readClosed atomic.Bool // stop delivering reads (closing handshake)
	paused     atomic.Bool // leave input in the socket (backpressure)
	closeReq   atomic.Bool // Close was called: a pause no longer holds the loop off
}

// RemoteAddr asks the kernel for the peer's address. It is not kept:
// callers that need it (logs, identity) already hold it as a string, and
// two net.Addr values cost an idle connection more than its socket does.
func (c *Conn) RemoteAddr() net.Addr {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return nil
	}
	sa, err := unix.Getpeername(c.fd)
	if err != nil {
		return nil
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	return nil
}

var iovPool = sync.Pool{New: func() any { s := make([]unix.Iovec, 0, 64); return &s }}

// Writev writes as much of bufs as the socket takes without blocking and
// returns the byte count. When the socket is full it returns ErrWouldBlock
// (with the partial count) and the Handler's OnWritable fires once it
// drains.
func (c *Conn) Writev(bufs [][]byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return 0, ErrClosed
	}
	total := 0
	for len(bufs) > 0 {
		part := bufs[:min(len(bufs), maxIov)]
		want := 0
		ivp := iovPool.Get().(*[]unix.Iovec)
		iov := (*ivp)[:0]
		for _, b := range part {
			if len(b) == 0 {
				continue
			}
			v := unix.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			iov = append(iov, v)
			want += len(b)
		}
		n, err := c.writev(iov)
		*ivp = iov[:0]
		iovPool.Put(ivp)
		total += n
		if err != nil {
			if err == unix.EAGAIN {
				c.wantWrite.Store(true)
				return total, ErrWouldBlock
			}
			return total, err
		}
		if n < want {
			// A short write means the socket buffer is full; the caller
			// keeps the rest and waits for OnWritable.
			c.wantWrite.Store(true)
			return total, ErrWouldBlock
		}
		bufs = bufs[len(part):]
	}
	return total, nil
}

func (c *Conn) writev(iov []unix.Iovec) (int, error) {
	if len(iov) == 0 {
		return 0, nil
	}
	for {
		r, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(c.fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// CloseWrite sends FIN after what is queued in the kernel, keeping the read
// side open so the peer's close can still be read (a close that discards
// unread input would reset the connection and could lose our last frame).
func (c *Conn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return ErrClosed
	}
	return unix.Shutdown(c.fd, unix.SHUT_WR)
}

// StopReading makes the loop discard further input (used while a closing
// handshake waits for the peer).
func (c *Conn) StopReading() { c.readClosed.Store(true) }

// PauseReads makes the loop leave input in the socket, so the kernel's
// receive window pushes back on the peer, until ResumeReads. It is for
// backpressure: whoever consumes the input is slow (a gateway's other
// side). Bytes of the read in progress are still delivered. Safe from any
// goroutine.
func (c *Conn) PauseReads() { c.paused.Store(true) }

// ResumeReads undoes PauseReads. The connection is re-armed with
// EPOLL_CTL_MOD, which reports it again if input is waiting: being
// edge-triggered, the loop would otherwise never hear of the bytes that
// arrived while it was paused. Safe from any goroutine.
func (c *Conn) ResumeReads() {
	if !c.paused.Swap(false) {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return
	}
	// Before registration this fails with ENOENT, harmlessly: EPOLL_CTL_ADD
	// reports input that is already waiting.
	c.loop.rearm(c)
}

// ReadsPaused reports whether PauseReads is in effect.
func (c *Conn) ReadsPaused() bool { return c.paused.Load() }

// Close shuts the socket down; the loop then closes the descriptor and
// calls OnClose. Safe to call more than once and from any goroutine.
func (c *Conn) Close() error {
	c.closeReq.Store(true)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return nil
	}
	err := unix.Shutdown(c.fd, unix.SHUT_RDWR)
	if c.paused.Load() {
		// The hang-up must reach the loop even if a paused read consumed
		// the last edge.
		c.loop.rearm(c)
	}
	return err
}
