//go:build linux

package poll

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

type recorder struct {
	mu       sync.Mutex
	data     bytes.Buffer
	got      chan struct{}
	writable chan struct{}
	closed   chan error
	onRead   func(p []byte)
}

func newRecorder() *recorder {
	return &recorder{got: make(chan struct{}, 1024), writable: make(chan struct{}, 16), closed: make(chan error, 1)}
}

func (r *recorder) OnRead(p []byte) {
	r.mu.Lock()
	r.data.Write(p)
	r.mu.Unlock()
	if r.onRead != nil {
		r.onRead(p)
	}
	r.got <- struct{}{}
}
func (r *recorder) OnWritable()       { r.writable <- struct{}{} }
func (r *recorder) OnClose(err error) { r.closed <- err }

// pair returns a registered server side and the raw client side.
func pair(t *testing.T, p *Poller, h Handler) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Add(sc, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, client
}

func newPoller(t *testing.T) *Poller {
	p, err := New(2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func wait[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for an event")
	}
	var zero T
	return zero
}

func TestEchoAndPeerClose(t *testing.T) {
	p := newPoller(t)
	rec := newRecorder()
	var c *Conn
	var ready = make(chan struct{})
	rec.onRead = func(b []byte) {
		<-ready
		if _, err := c.Writev([][]byte{b}); err != nil {
			t.Errorf("Writev: %v", err)
		}
	}
	c, client := pair(t, p, rec)
	close(ready)
	msg := []byte("hello, poller")
	client.Write(msg)
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(client, buf); err != nil || !bytes.Equal(buf, msg) {
		t.Fatalf("echo = %q, %v", buf, err)
	}
	if got := c.RemoteAddr().String(); got != client.LocalAddr().String() {
		t.Fatalf("RemoteAddr = %s, want %s", got, client.LocalAddr())
	}
	client.Close()
	if err := wait(t, rec.closed); err != nil {
		t.Fatalf("peer close reported %v, want nil (EOF)", err)
	}
	if _, err := c.Writev([][]byte{msg}); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close = %v, want ErrClosed", err)
	}
}

func TestCloseFromAnotherGoroutine(t *testing.T) {
	p := newPoller(t)
	rec := newRecorder()
	c, client := pair(t, p, rec)
	go c.Close()
	wait(t, rec.closed)
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err == nil {
		t.Fatal("client read succeeded after server close")
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

func TestWouldBlockThenWritable(t *testing.T) {
	p := newPoller(t)
	rec := newRecorder()
	c, client := pair(t, p, rec)
	chunk := bytes.Repeat([]byte("x"), 256<<10)
	sent := 0
	for range 1000 { // the client is not reading: the socket must fill
		n, err := c.Writev([][]byte{chunk})
		sent += n
		if errors.Is(err, ErrWouldBlock) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if sent == 0 || sent >= 1000*len(chunk) {
		t.Fatalf("socket never filled (sent %d)", sent)
	}
	go io.CopyN(io.Discard, client, int64(sent))
	wait(t, rec.writable)
}

func TestVectorLongerThanIovMax(t *testing.T) {
	p := newPoller(t)
	rec := newRecorder()
	c, client := pair(t, p, rec)
	bufs := make([][]byte, 3000)
	for i := range bufs {
		bufs[i] = []byte{byte(i)}
	}
	done := make(chan []byte)
	go func() {
		b := make([]byte, len(bufs))
		io.ReadFull(client, b)
		done <- b
	}()
	if n, err := c.Writev(bufs); err != nil || n != len(bufs) {
		t.Fatalf("Writev = %d, %v", n, err)
	}
	got := wait(t, done)
	for i := range got {
		if got[i] != byte(i) {
			t.Fatalf("byte %d = %d", i, got[i])
		}
	}
}

func TestPollerCloseClosesConnections(t *testing.T) {
	p, err := New(1)
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	pair(t, p, rec)
	p.Close()
	if err := wait(t, rec.closed); !errors.Is(err, ErrClosed) {
		t.Fatalf("close cause = %v, want ErrClosed", err)
	}
}

func TestNotPollable(t *testing.T) {
	p := newPoller(t)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := p.Add(a, newRecorder(), nil); !errors.Is(err, ErrNotPollable) {
		t.Fatalf("Add(pipe) = %v, want ErrNotPollable", err)
	}
}
