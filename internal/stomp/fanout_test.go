package stomp

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/wsframe"
)

// harness is a core with the STOMP adapter on a TCP listener and a
// WebSocket endpoint, and subscribers that count the MESSAGE frames they
// read.
type harness struct {
	tb    testing.TB
	core  *core.Core
	addr  string
	url   string
	total atomic.Int64 // MESSAGE frames read by every subscriber
	conns []net.Conn
	wg    sync.WaitGroup
}

func newHarness(tb testing.TB) *harness {
	c := core.New(core.Config{Queue: outq.Limits{Messages: 4096, Bytes: 16 << 20}})
	a := New(Config{})
	c.Register(a)
	c.RegisterRaw("stomp", a)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(c.ServeWebSocket))
	h := &harness{tb: tb, core: c, addr: ln.Addr().String(), url: hs.URL}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.ServeConn(conn, a, "stomp")
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		for _, conn := range h.conns {
			conn.Close()
		}
		h.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Shutdown(ctx)
		hs.Close()
	})
	return h
}

// subscribe connects n subscribers of version v to dest over TCP or
// WebSocket and starts counting what they receive.
func (h *harness) subscribe(n int, v, dest string, ws bool) {
	h.tb.Helper()
	setup := "CONNECT\naccept-version:" + v + "\nhost:h\nheart-beat:0,0\n\n\x00" +
		"SUBSCRIBE\nid:s\ndestination:" + dest + "\nreceipt:ready\n\n\x00"
	for range n {
		var conn net.Conn
		var err error
		if ws {
			conn, err = dialWS(h.url)
		} else {
			conn, err = net.Dial("tcp", h.addr)
		}
		if err != nil {
			h.tb.Fatal(err)
		}
		h.conns = append(h.conns, conn)
		ready := make(chan struct{})
		h.wg.Add(1)
		go h.count(conn, ws, ready)
		if ws {
			_, err = conn.Write(wsframe.AppendMaskedFrame(nil, wsframe.OpText, true, [4]byte{1, 2, 3, 4}, []byte(setup)))
		} else {
			_, err = conn.Write([]byte(setup))
		}
		if err != nil {
			h.tb.Fatal(err)
		}
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			h.tb.Fatal("no receipt for SUBSCRIBE")
		}
	}
}

// count reads frames: CONNECTED and the RECEIPT, then MESSAGEs, which it
// counts by their NUL (over WebSocket, by message).
func (h *harness) count(conn net.Conn, ws bool, ready chan struct{}) {
	defer h.wg.Done()
	buf := make([]byte, 64<<10)
	var wr wsframe.ClientReader
	setup := 2 // CONNECTED, RECEIPT
	var pending []byte
	frame := func(b []byte) {
		if setup > 0 {
			pending = append(pending, b...)
			for setup > 0 {
				i := bytes.IndexByte(pending, 0)
				if i < 0 {
					return
				}
				pending = pending[i+1:]
				if setup--; setup == 0 {
					close(ready)
					b = pending
				}
			}
		}
		if n := bytes.Count(b, []byte{0}); n > 0 {
			h.total.Add(int64(n))
		}
	}
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if ws {
				wr.Feed(buf[:n], func(op byte, p []byte) error {
					if op == wsframe.OpText || op == wsframe.OpBinary {
						frame(p)
					}
					return nil
				})
			} else {
				frame(buf[:n])
			}
		}
		if err != nil {
			return
		}
	}
}

// dialWS opens a WebSocket offering v12.stomp and returns the raw
// connection after the handshake.
func dialWS(url string) (net.Conn, error) {
	host := strings.TrimPrefix(url, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		return nil, err
	}
	req := "GET / HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v12.stomp\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		return nil, err
	}
	// The response is small and arrives alone: read to its blank line.
	var resp []byte
	b := make([]byte, 1)
	for !bytes.HasSuffix(resp, []byte("\r\n\r\n")) {
		if _, err := conn.Read(b); err != nil {
			return nil, err
		}
		resp = append(resp, b[0])
	}
	if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101")) {
		return nil, fmt.Errorf("handshake: %s", resp)
	}
	return conn, nil
}

// wait blocks until the subscribers have read n MESSAGE frames in all.
func (h *harness) wait(n int64) {
	h.tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for h.total.Load() < n {
		if time.Now().After(deadline) {
			h.tb.Fatalf("%d of %d deliveries within 30s", h.total.Load(), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func (h *harness) publish(topic string, data []byte) {
	m := &message.Message{Topic: topic, Data: data, ContentType: "text/plain"}
	if err := h.core.Publish(context.Background(), nil, m); err != nil {
		h.tb.Fatal(err)
	}
}

// TestEncodeOnce: a message fanned out to 1,000 subscribers is encoded
// once per STOMP version, however many subscribers and transports.
func TestEncodeOnce(t *testing.T) {
	h := newHarness(t)
	h.subscribe(990, "1.2", "/topic/fan.out", false)
	h.subscribe(8, "1.2", "/topic/fan.out", true)
	h.subscribe(1, "1.1", "/topic/fan.>", false)
	h.subscribe(1, "1.0", "/topic/fan.*", false)
	before := sharedEncodes.Load()
	const messages = 5
	for i := range messages {
		h.publish("fan/out", fmt.Appendf(nil, "message %d", i))
	}
	h.wait(messages * 1000)
	if n := sharedEncodes.Load() - before; n != messages*3 {
		t.Fatalf("%d shared encodings for %d messages to 1,000 subscribers of 3 versions, want %d", n, messages, messages*3)
	}
}

// BenchmarkFanout publishes 64-byte messages to 1,000 STOMP subscribers
// over TCP and over WebSocket, all in this process, and reports
// deliveries per second. A window of 256 messages in flight keeps the
// subscribers' queues from overflowing.
func BenchmarkFanout(b *testing.B) {
	const subscribers, window = 1000, 256
	payload := bytes.Repeat([]byte("x"), 64)
	for _, ws := range []bool{false, true} {
		name := "tcp"
		if ws {
			name = "websocket"
		}
		b.Run(name, func(b *testing.B) {
			h := newHarness(b)
			h.subscribe(subscribers, "1.2", "/topic/bench", ws)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			i := 0
			for b.Loop() {
				if i >= window {
					h.wait(int64(i-window) * subscribers)
				}
				h.publish("bench", payload)
				i++
			}
			h.wait(int64(i) * subscribers)
			b.ReportMetric(float64(i)*subscribers/time.Since(start).Seconds(), "deliveries/s")
		})
	}
}
