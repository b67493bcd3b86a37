//go:build linux

package poll

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// inQueue is the number of unread bytes in c's receive buffer.
func inQueue(t *testing.T, c *Conn) int {
	t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n, err := unix.IoctlGetInt(c.fd, unix.SIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPauseLeavesInputInTheSocket: a paused connection is not read, even
// when its data arrives; the bytes wait in the kernel and ResumeReads
// delivers them although no new edge comes.
func TestPauseLeavesInputInTheSocket(t *testing.T) {
	p := newPoller(t)
	rec := newRecorder()
	c, client := pair(t, p, rec)
	c.PauseReads()
	if !c.ReadsPaused() {
		t.Fatal("ReadsPaused = false after PauseReads")
	}
	msg := bytes.Repeat([]byte("p"), 1000)
	if _, err := client.Write(msg); err != nil {
		t.Fatal(err)
	}
	// A second connection on the same poller proves the loop is running
	// and has had the chance to read the first one.
	rec2 := newRecorder()
	_, client2 := pair(t, p, rec2)
	client2.Write([]byte("x"))
	wait(t, rec2.got)
	rec.mu.Lock()
	got := rec.data.Len()
	rec.mu.Unlock()
	if got != 0 {
		t.Fatalf("paused connection delivered %d bytes", got)
	}
	c.ResumeReads()
	for {
		wait(t, rec.got)
		rec.mu.Lock()
		got = rec.data.Len()
		rec.mu.Unlock()
		if got == len(msg) {
			break
		}
	}
	if n := inQueue(t, c); n != 0 {
		t.Fatalf("%d bytes left in the socket after resuming", n)
	}
	c.ResumeReads() // not paused: a no-op
}

// TestPauseBackpressuresThePeer pauses from inside OnRead, the way a
// gateway does when its other side is slow, while the peer streams 16 MiB:
// the peer's writes stall on the full window, and resuming delivers every
// byte in order.
func TestPauseBackpressuresThePeer(t *testing.T) {
	p := newPoller(t)
	var (
		c      *Conn
		ready  = make(chan struct{})
		paused = make(chan struct{}, 1)
		once   sync.Once
		total  atomic.Int64
		h      = sha256.New()
		hmu    sync.Mutex
	)
	rec := newRecorder()
	rec.onRead = func(b []byte) {
		<-ready
		hmu.Lock()
		h.Write(b)
		hmu.Unlock()
		if total.Add(int64(len(b))) >= 1<<20 {
			once.Do(func() {
				c.PauseReads()
				paused <- struct{}{}
			})
		}
	}
	rec.got = make(chan struct{}, 1<<16)
	c, client := pair(t, p, rec)
	close(ready)
	const size = 16 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	want := sha256.Sum256(data)
	wrote := make(chan error, 1)
	go func() { _, err := client.Write(data); wrote <- err }()
	wait(t, paused)
	before := total.Load()
	if before >= size {
		t.Fatalf("all %d bytes were read despite the pause", before)
	}
	c.ResumeReads()
	if err := wait(t, wrote); err != nil {
		t.Fatal(err)
	}
	for total.Load() < size {
		wait(t, rec.got)
	}
	hmu.Lock()
	defer hmu.Unlock()
	if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
		t.Fatal("bytes delivered after the pause differ from those sent")
	}
}

// TestCloseWhilePaused: Close overrides a pause, so the loop sees the
// hang-up and reports OnClose.
func TestCloseWhilePaused(t *testing.T) {
	p := newPoller(t)
	rec := newRecorder()
	c, client := pair(t, p, rec)
	c.PauseReads()
	client.Write([]byte("unread"))
	c.Close()
	wait(t, rec.closed)
	c.ResumeReads() // after the close: harmless
}

// TestPeerCloseWhilePausedIsSeenOnResume: the peer's data and FIN wait
// behind a pause and arrive, in order, once reads resume.
func TestPeerCloseWhilePausedIsSeenOnResume(t *testing.T) {
	p := newPoller(t)
	rec := newRecorder()
	c, client := pair(t, p, rec)
	c.PauseReads()
	client.Write([]byte("last words"))
	client.(*net.TCPConn).CloseWrite()
	rec2 := newRecorder()
	_, client2 := pair(t, p, rec2)
	client2.Write([]byte("x"))
	wait(t, rec2.got)
	select {
	case err := <-rec.closed:
		t.Fatalf("paused connection reported its close (%v) before resuming", err)
	default:
	}
	c.ResumeReads()
	if err := wait(t, rec.closed); err != nil {
		t.Fatalf("close cause %v, want EOF (nil)", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got, _ := io.ReadAll(&rec.data); string(got) != "last words" {
		t.Fatalf("got %q before the close", got)
	}
}
