//go:build linux

package poll

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// readBufSize is the one read buffer each loop shares among its connections.
const readBufSize = 64 << 10

// readsPerTurn bounds the reads one readiness event gets before the loop
// moves on to the other ready connections: a client that writes without
// pause would otherwise keep the socket non-empty and the loop to itself.
// Past it the connection is re-armed, which reports it again in the next
// wait, behind the others.
const readsPerTurn = 2

type loop struct {
	epfd     int
	wakefd   int // eventfd that wakes the loop: to stop it, or a nudge
	stopping atomic.Bool
	mu       sync.Mutex
	conns    map[int]*Conn
	gen      uint32
	buf      []byte
}

func newLoop() (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wfd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wfd)
		return nil, err
	}
	return &loop{epfd: epfd, wakefd: wfd, conns: make(map[int]*Conn), buf: make([]byte, readBufSize)}, nil
}

// assign gives c its loop and generation; Poller.Add calls it before the
// setup function runs, so that ResumeReads may be called from then on.
func (l *loop) assign(c *Conn) {
	l.mu.Lock()
	l.gen++
	c.gen = l.gen
	c.loop = l
	l.mu.Unlock()
}

// events is the registration of every connection. Pad carries a
// generation so an event for a descriptor that was closed and reused
// within one epoll batch is recognised as stale.
func events(c *Conn) unix.EpollEvent {
	return unix.EpollEvent{
		Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET,
		Fd:     int32(c.fd),
		Pad:    int32(c.gen),
	}
}

// rearm re-registers c so that readiness is reported again; the caller
// holds c.wmu and has checked c.closed, so the descriptor is c's.
func (l *loop) rearm(c *Conn) {
	ev := events(c)
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev)
}

func (l *loop) add(c *Conn) error {
	l.mu.Lock()
	l.conns[c.fd] = c
	l.mu.Unlock()
	ev := events(c)
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		l.mu.Lock()
		delete(l.conns, c.fd)
		l.mu.Unlock()
		return err
	}
	return nil
}

func (l *loop) stop() {
	l.stopping.Store(true)
	l.wake()
}

// wake makes the loop run a turn. The poller nudges every loop
// periodically: a loop waits on its epoll descriptor through Go's netpoller
// (nested epoll), and should a readiness notification ever be lost, the
// loop would otherwise sleep with events pending; the nudge's turn
// collects them. An idle loop pays one eventfd read per nudge.
func (l *loop) wake() {
	var one = [8]byte{1}
	unix.Write(l.wakefd, one[:])
}

func (l *loop) run() {
	events := make([]unix.EpollEvent, 256)
	wait, done := l.waiter(events)
	defer done()
	for {
		n, err := wait()
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			break
		}
		stopping := false
		for i := range n {
			ev := &events[i]
			fd := int(ev.Fd)
			if fd == l.wakefd {
				var cnt [8]byte
				unix.Read(l.wakefd, cnt[:]) // level-triggered: reset it
				stopping = l.stopping.Load()
				continue
			}
			l.mu.Lock()
			c := l.conns[fd]
			l.mu.Unlock()
			if c == nil || c.gen != uint32(ev.Pad) {
				continue
			}
			l.handle(c, ev.Events)
		}
		if stopping {
			break
		}
	}
	l.mu.Lock()
	conns := make([]*Conn, 0, len(l.conns))
	for _, c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		l.finish(c, ErrClosed)
	}
	unix.Close(l.wakefd)
}

// waiter returns the loop's wait for events and the function that
// releases the epoll descriptor. The descriptor is waited on through Go's
// netpoller (it is readable when events are ready), so an idle loop parks
// its goroutine instead of holding a thread and a P in a blocking
// epoll_wait: a blocked syscall keeps its P until sysmon retakes it, and
// every goroutine the loop wakes (flush workers, handlers) waited for
// that, tens of microseconds a time. When the netpoller cannot take the
// descriptor, the loop blocks in epoll_wait as before.
func (l *loop) waiter(events []unix.EpollEvent) (wait func() (int, error), done func()) {
	blocking := func() (int, error) { return unix.EpollWait(l.epfd, events, -1) }
	if err := unix.SetNonblock(l.epfd, true); err != nil {
		return blocking, func() { unix.Close(l.epfd) }
	}
	f := os.NewFile(uintptr(l.epfd), "epoll")
	rc, err := f.SyscallConn()
	// Only a descriptor registered with the netpoller takes deadlines.
	if err != nil || f.SetReadDeadline(time.Time{}) != nil {
		unix.SetNonblock(l.epfd, false)
		return blocking, func() { f.Close() }
	}
	return func() (int, error) {
		var n int
		var werr error
		err := rc.Read(func(uintptr) bool {
			n, werr = unix.EpollWait(l.epfd, events, 0)
			// Any error returns to run, which retries EINTR: waiting for
			// readiness instead could miss events that are already there.
			return n > 0 || werr != nil
		})
		if err != nil {
			return 0, err
		}
		return n, werr
	}, func() { f.Close() }
}

func (l *loop) handle(c *Conn, ev uint32) {
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		// Edge-triggered: read until the socket is empty, or until the
		// reads are paused (ResumeReads re-arms the connection). A Close
		// overrides a pause so that the hang-up is seen.
		for reads := 0; ; reads++ {
			if c.paused.Load() && !c.closeReq.Load() {
				break
			}
			if reads == readsPerTurn {
				c.wmu.Lock()
				if !c.closed {
					l.rearm(c)
				}
				c.wmu.Unlock()
				break
			}
			n, err := unix.Read(c.fd, l.buf)
			if n > 0 {
				if !c.readClosed.Load() {
					c.h.OnRead(l.buf[:n])
				}
				continue
			}
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				break
			}
			// n == 0 is end of stream; anything else is a socket error.
			var cause error
			if err != nil {
				cause = err
			}
			l.finish(c, cause)
			return
		}
	}
	if ev&unix.EPOLLOUT != 0 && c.wantWrite.Swap(false) {
		c.h.OnWritable()
	}
}

// finish closes c's descriptor; only the loop goroutine calls it.
func (l *loop) finish(c *Conn, cause error) {
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return
	}
	c.closed = true
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	unix.Close(c.fd)
	c.wmu.Unlock()
	l.mu.Lock()
	if l.conns[c.fd] == c {
		delete(l.conns, c.fd)
	}
	l.mu.Unlock()
	c.h.OnClose(cause)
}
