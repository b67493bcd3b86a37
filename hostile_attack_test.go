package herald_test

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/wsframe"
)

// hostileServer is a server with the limits a public deployment would
// set, its WebSocket endpoint behind an http.Server with a read-header
// timeout, and STOMP and MQTT listeners.
type hostileServer struct {
	srv               *herald.Server
	httpAddr          string
	stompAddr, mqtt   string
	shutdown          func()
	connectTimeout    time.Duration
	readHeaderTimeout time.Duration
}

func startHostileServer(tb testing.TB) *hostileServer {
	tb.Helper()
	h := &hostileServer{connectTimeout: 5 * time.Second, readHeaderTimeout: 5 * time.Second}
	h.srv = herald.New(herald.Options{
		QueueMessages: 128, // a subscriber that never reads is cut off soon
		Limits: herald.Limits{
			MaxConnectionsPerIP:      400,
			HandshakesPerSecondPerIP: 200, HandshakeBurstPerIP: 400,
			// The burst is above anything an honest client of these
			// tests sends in all, so that no honest client can be
			// limited, whatever the machine's speed; floods go far
			// beyond and are cut off.
			MessagesPerSecond: 100, MessageBurst: 400,
			MaxSubscriptions: 100,
		},
		STOMP: herald.STOMPOptions{ConnectTimeout: h.connectTimeout},
		MQTT:  herald.MQTTOptions{ConnectTimeout: h.connectTimeout},
	})
	h.srv.Handle("echo", func(_ context.Context, p json.RawMessage) (any, error) { return p, nil })
	mux := http.NewServeMux()
	mux.Handle("/ws", h.srv)
	hs := httptest.NewUnstartedServer(mux)
	hs.Config.ReadHeaderTimeout = h.readHeaderTimeout
	hs.Start()
	h.httpAddr = strings.TrimPrefix(hs.URL, "http://")
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	h.stompAddr, h.mqtt = sln.Addr().String(), mln.Addr().String()
	go h.srv.ServeSTOMP(sln)
	go h.srv.ServeMQTT(mln)
	h.shutdown = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.srv.Shutdown(ctx)
		hs.Close()
	}
	tb.Cleanup(h.shutdown)
	return h
}

// attack runs hostile clients from 127.0.0.2 and 127.0.0.3 until stop.
type attack struct {
	h    *hostileServer
	stop chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{} // open, to be closed at stop

	dials, refused, closedByServer atomic.Int64
}

// attackSizes says how many hostile clients of each kind run at once.
type attackSizes struct {
	Slowloris, SilentTCP, NeverRead, Garbage, SubscribeFlood, ConnFlood int
}

// defaultAttack is a few thousand connections held at once, many more
// over the attack's course.
var defaultAttack = attackSizes{Slowloris: 1200, SilentTCP: 600, NeverRead: 300, Garbage: 60, SubscribeFlood: 20, ConnFlood: 20}

func startAttack(h *hostileServer, n attackSizes) *attack {
	a := &attack{h: h, stop: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	run := func(count int, f func(i int)) {
		for i := range count {
			a.wg.Go(func() {
				for !a.stopped() {
					f(i)
				}
			})
		}
	}
	run(n.Slowloris, a.slowloris)
	run(n.SilentTCP, a.silentTCP)
	run(n.NeverRead, a.neverRead)
	run(n.Garbage, a.garbage)
	run(n.SubscribeFlood, a.subscribeFlood)
	run(n.ConnFlood, a.connFlood)
	return a
}

func (a *attack) stopped() bool {
	select {
	case <-a.stop:
		return true
	default:
		return false
	}
}

// end stops every hostile client and closes their connections.
func (a *attack) end() {
	close(a.stop)
	a.mu.Lock()
	for c := range a.conns {
		c.Close()
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// dial connects from a hostile address; the connection is closed at the
// end of the attack at the latest. It returns nil when stopping.
func (a *attack) dial(from, addr string) net.Conn {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		// Out of ports or descriptors for a moment: back off a little.
		select {
		case <-a.stop:
		case <-time.After(10 * time.Millisecond):
		}
		return nil
	}
	a.dials.Add(1)
	a.mu.Lock()
	if a.stopped() {
		a.mu.Unlock()
		c.Close()
		return nil
	}
	a.conns[c] = struct{}{}
	a.mu.Unlock()
	return c
}

func (a *attack) release(c net.Conn) {
	a.mu.Lock()
	delete(a.conns, c)
	a.mu.Unlock()
	c.Close()
}

// drain reads until the server closes c (or the attack ends).
func (a *attack) drain(c net.Conn) {
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			if !a.stopped() {
				a.closedByServer.Add(1)
			}
			return
		}
	}
}

func hostileIP(i int) string { return fmt.Sprintf("127.0.0.%d", 2+i%2) }

// slowloris starts an HTTP request and never finishes its headers.
func (a *attack) slowloris(i int) {
	c := a.dial(hostileIP(i), a.h.httpAddr)
	if c == nil {
		return
	}
	defer a.release(c)
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n", a.h.httpAddr)
	a.drain(c)
}

// silentTCP opens a STOMP or MQTT connection and never sends CONNECT.
func (a *attack) silentTCP(i int) {
	addr := a.h.stompAddr
	if i%2 == 1 {
		addr = a.h.mqtt
	}
	c := a.dial(hostileIP(i), addr)
	if c == nil {
		return
	}
	defer a.release(c)
	a.drain(c)
}

// handshake upgrades c to a WebSocket speaking subprotocol; false if the
// server refused (a limit) or the connection failed.
func (a *attack) handshake(c net.Conn, subprotocol string) (*bufio.Reader, bool) {
	key := make([]byte, 16)
	crand.Read(key)
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
		a.h.httpAddr, base64.StdEncoding.EncodeToString(key), subprotocol)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		return nil, false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		a.refused.Add(1)
		return nil, false
	}
	return br, true
}

// garbageBytes are random bytes made once, which garbage clients send
// slices of.
var garbageBytes = func() []byte {
	b := make([]byte, 1<<16)
	crand.Read(b)
	return b
}()

func masked(payload string) []byte {
	return wsframe.AppendMaskedFrame(nil, wsframe.OpText, true, [4]byte{7, 7, 7, 7}, []byte(payload))
}

// neverRead subscribes to the honest clients' topic and never reads, with
// a small receive buffer so that the server's queue for it fills.
func (a *attack) neverRead(i int) {
	c := a.dial(hostileIP(i), a.h.httpAddr)
	if c == nil {
		return
	}
	defer a.release(c)
	c.(*net.TCPConn).SetReadBuffer(4096)
	if _, ok := a.handshake(c, "herald.v1"); !ok {
		return
	}
	c.Write(masked(`{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"news"}}`))
	<-a.stop
}

// garbage sends random bytes to a random listener, with or without a
// WebSocket handshake first.
func (a *attack) garbage(i int) {
	r := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
	addr := []string{a.h.httpAddr, a.h.httpAddr, a.h.stompAddr, a.h.mqtt}[r.IntN(4)]
	c := a.dial(hostileIP(i), addr)
	if c == nil {
		return
	}
	defer a.release(c)
	if addr == a.h.httpAddr && r.IntN(2) == 0 {
		if _, ok := a.handshake(c, []string{"herald.v1", "v12.stomp", "mqtt"}[r.IntN(3)]); !ok {
			return
		}
	}
	n := 512 + r.IntN(4096)
	off := r.IntN(len(garbageBytes) - n)
	junk := garbageBytes[off : off+n]
	for range 8 {
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write(junk); err != nil {
			return
		}
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	a.drain(c)
}

// subscribeFlood subscribes to new topics as fast as it can write, and
// goes on writing after the server closed it. The frames are made once:
// the attacker's own CPU, in this process, must not be what slows the
// server down.
func (a *attack) subscribeFlood(i int) {
	c := a.dial(hostileIP(i), a.h.httpAddr)
	if c == nil {
		return
	}
	defer a.release(c)
	if _, ok := a.handshake(c, "herald.v1"); !ok {
		return
	}
	go func() { a.drain(c) }() // replies are read, so the server must stop it by its limits
	batch := floodBatch(i)
	for !a.stopped() {
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write(batch); err != nil {
			return
		}
	}
}

var floodBatches sync.Map // flooder index → its frames

// floodBatch is 1000 subscribe requests to distinct topics.
func floodBatch(i int) []byte {
	if b, ok := floodBatches.Load(i); ok {
		return b.([]byte)
	}
	var batch []byte
	for k := range 1000 {
		batch = append(batch, masked(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"subscribe","params":{"topic":"flood.%d.%d"}}`, k, i, k))...)
	}
	floodBatches.Store(i, batch)
	return batch
}

// connFlood opens WebSocket connections as fast as it can and drops them.
func (a *attack) connFlood(i int) {
	c := a.dial(hostileIP(i), a.h.httpAddr)
	if c == nil {
		return
	}
	defer a.release(c)
	a.handshake(c, "herald.v1")
}
