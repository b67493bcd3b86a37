package gateway

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/wsframe"
)

// Gateway benchmarks: throughput and added latency against the same
// backend reached directly over TCP, and the memory of an idle gateway
// connection. Run with
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/gateway/

const benchChunk = 64 << 10

// BenchmarkUpstream: client to backend, 64 KiB messages, counted when
// the backend has read them.
func BenchmarkUpstream(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		got := make(chan int64, 1)
		addr := tcpService(b, func(c *net.TCPConn) { n, _ := io.Copy(io.Discard, c); got <- n })
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		chunk := payload(benchChunk, 9)
		b.SetBytes(benchChunk)
		b.ResetTimer()
		for range b.N {
			c.Write(chunk)
		}
		c.(*net.TCPConn).CloseWrite()
		<-got
	})
	b.Run("gateway", func(b *testing.B) {
		h := newHarness(b, core.Config{MaxMessage: 1 << 20})
		got := make(chan int64, 1)
		h.route(b, "/up", Route{Backend: tcpService(b, func(c *net.TCPConn) { n, _ := io.Copy(io.Discard, c); got <- n })})
		w := dialWS(b, h.addr, "/up", nil)
		frame := wsframe.AppendMaskedFrame(nil, wsframe.OpBinary, true, maskKey, payload(benchChunk, 9))
		b.SetBytes(benchChunk)
		b.ResetTimer()
		for range b.N {
			w.c.Write(frame)
		}
		w.sendClose(wsframe.CloseNormal)
		<-got
	})
}

// BenchmarkDownstream: backend to client, read and parsed by the client.
func BenchmarkDownstream(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		n := int64(b.N) * benchChunk
		addr := tcpService(b, func(c *net.TCPConn) { writeN(c, n) })
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(benchChunk)
		b.ResetTimer()
		io.Copy(io.Discard, c)
	})
	b.Run("gateway", func(b *testing.B) {
		h := newHarness(b, core.Config{})
		n := int64(b.N) * benchChunk
		h.route(b, "/down", Route{Backend: tcpService(b, func(c *net.TCPConn) { writeN(c, n); c.CloseWrite(); io.Copy(io.Discard, c) })})
		w := dialWS(b, h.addr, "/down", nil)
		b.SetBytes(benchChunk)
		b.ResetTimer()
		buf := make([]byte, 256<<10)
		var got int64
		for got < n {
			m, err := w.br.Read(buf)
			if err != nil {
				b.Fatalf("after %d of %d bytes: %v", got, n, err)
			}
			w.cr.Feed(buf[:m], func(op byte, p []byte) error { got += int64(len(p)); return nil })
		}
	})
}

func writeN(c net.Conn, n int64) {
	chunk := payload(benchChunk, 10)
	for n > 0 {
		k := min(n, benchChunk)
		if _, err := c.Write(chunk[:k]); err != nil {
			return
		}
		n -= k
	}
}

// BenchmarkRoundTrip: one 64-byte message to an echo backend and back;
// ns/op is the round trip, the gateway's minus direct's the added latency.
func BenchmarkRoundTrip(b *testing.B) {
	msg := payload(64, 11)
	b.Run("direct", func(b *testing.B) {
		c, err := net.Dial("tcp", tcpService(b, echo))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() }) // before the service waits for its handler
		buf := make([]byte, len(msg))
		b.ResetTimer()
		for range b.N {
			c.Write(msg)
			io.ReadFull(c, buf)
		}
	})
	b.Run("gateway", func(b *testing.B) {
		h := newHarness(b, core.Config{})
		h.route(b, "/echo", Route{Backend: tcpService(b, echo)})
		w := dialWS(b, h.addr, "/echo", nil)
		frame := wsframe.AppendMaskedFrame(nil, wsframe.OpBinary, true, maskKey, msg)
		b.ResetTimer()
		for range b.N {
			w.c.Write(frame)
			for got := 0; got < len(msg); {
				_, p, err := w.next()
				if err != nil {
					b.Fatal(err)
				}
				got += len(p)
			}
		}
	})
}

// holder accepts connections and keeps them, without a goroutine each.
func holder(b *testing.B) (string, func() []net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	b.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), func() []net.Conn { mu.Lock(); defer mu.Unlock(); return conns }
}

func heap() (uint64, int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, runtime.NumGoroutine()
}

// upgrade performs a WebSocket handshake on a plain connection and keeps
// nothing else, so that the client side costs what a TCP socket costs.
func upgrade(b *testing.B, addr, path string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr)
	var tail [4]byte
	var one [1]byte
	for string(tail[:]) != "\r\n\r\n" {
		if _, err := c.Read(one[:]); err != nil {
			b.Fatal(err)
		}
		copy(tail[:], tail[1:])
		tail[3] = one[0]
	}
	return c
}

// BenchmarkIdleMemory opens 2000 idle gateway connections and reports the
// server's heap and goroutines per connection: the total, less what the
// same number of client and backend sockets cost on their own (measured
// with plain TCP pairs). For comparison, core-B/conn is an idle core
// session (a WebSocket with an adapter that does nothing), measured the
// same way.
func BenchmarkIdleMemory(b *testing.B) {
	const n = 2000
	for range b.N {
		// Baseline: n client sockets and n accepted sockets.
		addr, accepted := holder(b)
		h0, _ := heap()
		var plain []net.Conn
		for range n {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			plain = append(plain, c)
		}
		for len(accepted()) < n {
			runtime.Gosched()
		}
		h1, _ := heap()
		socket := float64(h1-h0) / (2 * n)
		for _, c := range plain {
			c.Close()
		}
		for _, c := range accepted() {
			c.Close()
		}

		h := newHarness(b, core.Config{})
		h.mux.HandleFunc("GET /core", func(w http.ResponseWriter, r *http.Request) {
			h.core.Upgrade(w, r, core.Accept{Protocol: "idle", Adapter: idleAdapter{}})
		})
		backend, bAccepted := holder(b)
		h.route(b, "/idle", Route{Backend: backend, MaxConns: -1})

		// Core sessions: n clients and the server side.
		h2, _ := heap()
		var cores []net.Conn
		for range n {
			cores = append(cores, upgrade(b, h.addr, "/core"))
		}
		for h.core.Sessions() < n {
			runtime.Gosched()
		}
		h3, _ := heap()
		b.ReportMetric((float64(h3-h2)-socket*n)/n, "core-B/conn")

		// Gateway connections: n clients, n backend sockets accepted by
		// the holder, and the server between them.
		h4, g4 := heap()
		var clients []net.Conn
		for range n {
			clients = append(clients, upgrade(b, h.addr, "/idle"))
		}
		for len(bAccepted()) < n || h.core.Sessions() < 2*n {
			runtime.Gosched()
		}
		// The dial goroutines end once their connection is attached.
		for runtime.NumGoroutine() > g4 {
			runtime.Gosched()
		}
		h5, g5 := heap()
		b.ReportMetric((float64(h5-h4)-2*socket*n)/n, "gateway-B/conn")
		b.ReportMetric(float64(g5-g4)/n, "goroutines/conn")
		b.ReportMetric(socket, "B/socket")
		for _, c := range append(cores, clients...) {
			c.Close()
		}
	}
}

type idleAdapter struct{}

func (idleAdapter) Protocols() []string                { return nil }
func (idleAdapter) Open(s *core.Session) core.Protocol { return idleProto{} }

type idleProto struct{}

func (idleProto) OnMessage(byte, []byte) error { return nil }
func (idleProto) OnClose()                     {}
