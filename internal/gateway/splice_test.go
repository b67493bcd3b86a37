package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/wsframe"
)

// payload returns n pseudo-random bytes (incompressible, reproducible).
func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// streamUp sends data in binary messages of chunk bytes.
func (w *wsClient) streamUp(data []byte, chunk int) error {
	for len(data) > 0 {
		n := min(chunk, len(data))
		if err := w.send(wsframe.OpBinary, data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// readN reads n bytes of data messages into a hash.
func (w *wsClient) readN(n int) ([]byte, error) {
	h := sha256.New()
	for n > 0 {
		op, p, err := w.next()
		if err != nil {
			return nil, err
		}
		if op == wsframe.OpClose {
			code, reason := wsframe.ParseClosePayload(p)
			return nil, &wsframe.CloseError{Code: code, Reason: reason}
		}
		h.Write(p)
		n -= len(p)
	}
	return h.Sum(nil), nil
}

// TestEchoLargePayloadBothWays sends 8 MiB through the gateway to a TCP
// echo service while reading the echo, then closes: both directions'
// checksums match, and the client's close half-closes the backend, whose
// EOF ends the connection with 1000.
func TestEchoLargePayloadBothWays(t *testing.T) {
	h := newHarness(t, core.Config{})
	backend := tcpService(t, echo)
	rt := h.route(t, "/tcp/echo", Route{Backend: backend, Name: "echo"})
	w := dialWS(t, h.addr, "/tcp/echo", nil)

	data := payload(8<<20, 1)
	want := sha256.Sum256(data)
	sent := make(chan error, 1)
	go func() { sent <- w.streamUp(data, 32<<10) }()
	got, err := w.readN(len(data))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want[:]) {
		t.Fatal("echoed bytes differ from those sent")
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	w.sendClose(wsframe.CloseNormal)
	if code, _ := w.closeFrame(nil); code != wsframe.CloseNormal {
		t.Fatalf("close code %d, want 1000", code)
	}
	if n := rt.m.toBackend.Value(); n != float64(len(data)) {
		t.Errorf("bytes to backend %v, want %d", n, len(data))
	}
	if n := rt.m.toClient.Value(); n != float64(len(data)) {
		t.Errorf("bytes to client %v, want %d", n, len(data))
	}
}

// TestHalfCloseRelaysTheAnswer: the backend answers only once it has
// seen the end of its input, which it sees because the client's close
// frame half-closes it; the answer still reaches the client, then 1000.
func TestHalfCloseRelaysTheAnswer(t *testing.T) {
	h := newHarness(t, core.Config{})
	backend := tcpService(t, func(c *net.TCPConn) {
		sum := sha256.New()
		n, _ := io.Copy(sum, c) // until the gateway's SHUT_WR
		c.Write(sum.Sum(nil))
		c.Write(bytes.Repeat([]byte{byte(n)}, 1<<20)) // and a large tail
		c.CloseWrite()
	})
	h.route(t, "/tcp/sum", Route{Backend: backend})
	w := dialWS(t, h.addr, "/tcp/sum", nil)
	data := payload(3<<20, 2)
	if err := w.streamUp(data, 64<<10-16); err != nil {
		t.Fatal(err)
	}
	w.sendClose(wsframe.CloseNormal)
	var answer bytes.Buffer
	code, _ := w.closeFrame(&answer)
	if code != wsframe.CloseNormal {
		t.Fatalf("close code %d, want 1000", code)
	}
	want := sha256.Sum256(data)
	if answer.Len() != 32+1<<20 || !bytes.Equal(answer.Bytes()[:32], want[:]) {
		t.Fatalf("answer of %d bytes, checksum match %v", answer.Len(), answer.Len() >= 32 && bytes.Equal(answer.Bytes()[:32], want[:]))
	}
}

// TestSlowClientPausesTheBackend: the client stops reading while the
// backend writes 48 MiB. Once the kernel's buffers are full the
// gateway's backlog toward the client reaches its limit and the backend
// is no longer read; the backlog never exceeds the limit by more than one
// read; when the client reads again, every byte arrives.
func TestSlowClientPausesTheBackend(t *testing.T) {
	h := newHarness(t, core.Config{})
	data := payload(48<<20, 3)
	backend := tcpService(t, func(c *net.TCPConn) {
		c.Write(data)
		c.CloseWrite()
		io.Copy(io.Discard, c)
	})
	const limit = 128 << 10
	rt := h.route(t, "/tcp/src", Route{Backend: backend, Buffer: limit})
	paused := make(chan string, 16)
	rt.onPause = func(side string) {
		select {
		case paused <- side:
		default:
		}
	}
	w := dialWS(t, h.addr, "/tcp/src", nil) // and do not read yet
	if side := <-paused; side != "backend" {
		t.Fatalf("paused the %s, want the backend", side)
	}
	// One backend read (the loop's 64 KiB buffer) and its frame header
	// may land on top of the limit before the pause.
	if peak := rt.peakBacklog.Load(); peak > limit+64<<10+16 {
		t.Fatalf("backlog peaked at %d bytes, limit %d", peak, limit)
	}
	got, err := w.readN(len(data))
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(data); !bytes.Equal(got, want[:]) {
		t.Fatal("bytes differ after the pause")
	}
	if code, _ := w.closeFrame(nil); code != wsframe.CloseNormal {
		t.Fatalf("close code %d, want 1000 after the backend's EOF", code)
	}
	if peak := rt.peakBacklog.Load(); peak > limit+64<<10+16 {
		t.Fatalf("backlog peaked at %d bytes, limit %d", peak, limit)
	}
}

// TestSlowBackendPausesTheClient: the backend does not read while the
// client sends 48 MiB; the gateway holds at most about one read of the
// client's, pauses the client, and delivers everything once the backend
// reads.
func TestSlowBackendPausesTheClient(t *testing.T) {
	h := newHarness(t, core.Config{})
	start := make(chan struct{})
	sums := make(chan []byte, 1)
	data := payload(48<<20, 4)
	backend := tcpService(t, func(c *net.TCPConn) {
		<-start
		sum := sha256.New()
		io.CopyN(sum, c, int64(len(data)))
		sums <- sum.Sum(nil)
	})
	rt := h.route(t, "/tcp/sink", Route{Backend: backend})
	paused := make(chan string, 64)
	rt.onPause = func(side string) {
		select {
		case paused <- side:
		default:
		}
	}
	w := dialWS(t, h.addr, "/tcp/sink", nil)
	sent := make(chan error, 1)
	go func() { sent <- w.streamUp(data, 16<<10) }()
	// The first pause may come while the backend connects; wait until the
	// client is held back with bytes the backend did not take.
	for {
		if side := <-paused; side == "client" && rt.peakPending.Load() > 0 {
			break
		}
	}
	close(start)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	if got := <-sums; !bytes.Equal(got, want[:]) {
		t.Fatal("backend received different bytes")
	}
	// One read of the client (the loop's 64 KiB buffer) plus one message.
	if peak := rt.peakPending.Load(); peak > 64<<10+16<<10 {
		t.Fatalf("pending peaked at %d bytes", peak)
	}
	if rt.m.pausedClient.Value() == 0 {
		t.Fatal("client never paused")
	}
}

// TestBase64Subprotocol: websockify-style text frames both ways.
func TestBase64Subprotocol(t *testing.T) {
	h := newHarness(t, core.Config{})
	h.route(t, "/tcp/echo", Route{Backend: tcpService(t, echo)})
	w := dialWS(t, h.addr, "/tcp/echo", map[string]string{"Sec-WebSocket-Protocol": "base64, binary"})
	if w.Sub != "base64" {
		t.Fatalf("subprotocol %q, want base64", w.Sub)
	}
	msg := []byte{0, 1, 2, 0xff, 'h', 'i'}
	w.send(wsframe.OpText, []byte(base64.StdEncoding.EncodeToString(msg)))
	var got []byte
	for len(got) < len(msg) {
		op, p, err := w.next()
		if err != nil {
			t.Fatal(err)
		}
		if op != wsframe.OpText {
			t.Fatalf("opcode %d, want text", op)
		}
		b, err := base64.StdEncoding.DecodeString(string(p))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo %v, want %v", got, msg)
	}
	w.send(wsframe.OpText, []byte("not base64!"))
	if code, _ := w.closeFrame(nil); code != wsframe.CloseInvalidPayload {
		t.Fatalf("close code %d, want 1007", code)
	}
}

// TestRouteSubprotocolIsEchoed: a route's own subprotocol (MQTT clients
// require "mqtt" back) is accepted in binary mode; unknown ones are
// refused before the upgrade.
func TestRouteSubprotocolIsEchoed(t *testing.T) {
	h := newHarness(t, core.Config{})
	h.route(t, "/mqtt", Route{Backend: tcpService(t, echo), Subprotocols: []string{"mqtt"}})
	w := dialWS(t, h.addr, "/mqtt", map[string]string{"Sec-WebSocket-Protocol": "mqtt"})
	if w.Sub != "mqtt" {
		t.Fatalf("subprotocol %q, want mqtt", w.Sub)
	}
	if _, resp := handshake(t, h.addr, "/mqtt", map[string]string{"Sec-WebSocket-Protocol": "stomp"}); resp.StatusCode != 400 {
		t.Fatalf("unknown subprotocol: %s, want 400", resp.Status)
	}
}

// TestBackendDown: nothing listens at the backend's address; the client
// gets close 1014 with a reason that says so.
func TestBackendDown(t *testing.T) {
	h := newHarness(t, core.Config{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	rt := h.route(t, "/tcp/down", Route{Backend: addr, Name: "down"})
	w := dialWS(t, h.addr, "/tcp/down", nil)
	w.send(wsframe.OpBinary, []byte("anyone?"))
	code, reason := w.closeFrame(nil)
	if code != wsframe.CloseBadGateway || reason != "backend unavailable" {
		t.Fatalf("close %d %q, want 1014 \"backend unavailable\"", code, reason)
	}
	if n := rt.m.g.errors.With("down", "connect").Value(); n != 1 {
		t.Fatalf("connect errors %v, want 1", n)
	}
}

// TestBackendConnectTimeout: a backend whose accept queue is full drops
// the gateway's SYN, so the connect hits the route's timeout.
func TestBackendConnectTimeout(t *testing.T) {
	h := newHarness(t, core.Config{})
	addr := fullListener(t)
	h.route(t, "/tcp/full", Route{Backend: addr, ConnectTimeout: 200 * time.Millisecond, Name: "full"})
	w := dialWS(t, h.addr, "/tcp/full", nil)
	code, reason := w.closeFrame(nil)
	if code != wsframe.CloseBadGateway || reason != "backend unavailable: connect timeout" {
		t.Fatalf("close %d %q, want 1014 \"backend unavailable: connect timeout\"", code, reason)
	}
	if n := h.gw.m.errors.With("full", "connect_timeout").Value(); n != 1 {
		t.Fatalf("connect_timeout errors %v, want 1", n)
	}
}

// fullListener listens with a backlog of 0 and never accepts; one
// connection fills its queue, so the kernel drops further SYNs.
func fullListener(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return addr
}

// TestBackendReset: a backend that resets mid-stream gives 1014
// "backend connection lost".
func TestBackendReset(t *testing.T) {
	h := newHarness(t, core.Config{})
	backend := tcpService(t, func(c *net.TCPConn) {
		buf := make([]byte, 5)
		io.ReadFull(c, buf)
		c.SetLinger(0) // RST
	})
	h.route(t, "/tcp/rst", Route{Backend: backend})
	w := dialWS(t, h.addr, "/tcp/rst", nil)
	w.send(wsframe.OpBinary, []byte("hello"))
	code, reason := w.closeFrame(nil)
	if code != wsframe.CloseBadGateway || reason != "backend connection lost" {
		t.Fatalf("close %d %q, want 1014 \"backend connection lost\"", code, reason)
	}
}

// TestIdleTimeout: no bytes either way for the idle timeout ends the
// connection with 1001 and closes the backend.
func TestIdleTimeout(t *testing.T) {
	h := newHarness(t, core.Config{})
	closed := make(chan struct{})
	backend := tcpService(t, func(c *net.TCPConn) {
		io.Copy(io.Discard, c)
		close(closed)
	})
	h.route(t, "/tcp/idle", Route{Backend: backend, IdleTimeout: time.Second})
	w := dialWS(t, h.addr, "/tcp/idle", nil)
	code, reason := w.closeFrame(nil)
	if code != wsframe.CloseGoingAway || reason != "idle timeout" {
		t.Fatalf("close %d %q, want 1001 \"idle timeout\"", code, reason)
	}
	<-closed
}

// TestShutdownClosesBothSides: the core's shutdown closes gateway
// clients with 1001 and their backends.
func TestShutdownClosesBothSides(t *testing.T) {
	h := newHarness(t, core.Config{})
	closed := make(chan struct{})
	backend := tcpService(t, func(c *net.TCPConn) {
		c.Write([]byte("hi"))
		io.Copy(io.Discard, c)
		close(closed)
	})
	rt := h.route(t, "/tcp/x", Route{Backend: backend})
	w := dialWS(t, h.addr, "/tcp/x", nil)
	if _, p, err := w.next(); err != nil || string(p) != "hi" {
		t.Fatalf("first message %q, %v", p, err)
	}
	done := make(chan error, 1)
	go func() { done <- h.core.Shutdown(t.Context()) }()
	code, _ := w.closeFrame(nil)
	if code != wsframe.CloseGoingAway {
		t.Fatalf("close %d, want 1001", code)
	}
	w.c.Close()
	<-closed
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := rt.conns.Load(); n != 0 {
		t.Fatalf("%d connection slots still taken", n)
	}
}
