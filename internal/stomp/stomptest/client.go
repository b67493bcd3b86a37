package stomptest

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/stomp"
	"github.com/heraldhq/herald/internal/wsframe"
)

// Timeout bounds every wait of a Client.
const Timeout = 10 * time.Second

// Client speaks raw STOMP frames over TCP or WebSocket, so tests can send
// what no well-behaved client library would, and see every frame and
// heart-beat the server sends.
type Client struct {
	t      testing.TB
	conn   net.Conn
	ws     bool
	wmu    sync.Mutex
	frames chan *stomp.Frame
	done   chan struct{}
	err    error // why reading stopped; set before done closes

	// Version is the version frames are escaped with when sent; Connect
	// sets it from CONNECTED.
	Version stomp.Version
	// Beats counts heart-beats received; Ops the WebSocket opcodes of the
	// messages received, in order.
	Beats   atomic.Int64
	beat    chan struct{}
	opsMu   sync.Mutex
	ops     []byte
	closeWS atomic.Uint32 // the server's WebSocket close code
}

// Dial connects to a STOMP listener.
func Dial(t testing.TB, addr string) *Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return start(t, conn, nil, false)
}

// Over speaks STOMP on conn, a connection already open (TLS, say).
func Over(t testing.TB, conn net.Conn) *Client {
	t.Helper()
	return start(t, conn, nil, false)
}

// DialWS connects to a WebSocket endpoint (http://host/path) offering
// subprotocol, with a handshake written by hand.
func DialWS(t testing.TB, url, subprotocol string) *Client {
	t.Helper()
	host, path, _ := strings.Cut(strings.TrimPrefix(url, "http://"), "/")
	conn, err := net.DialTimeout("tcp", host, Timeout)
	if err != nil {
		t.Fatalf("dial %s: %v", host, err)
	}
	key := make([]byte, 16)
	rand.Read(key)
	req := fmt.Sprintf("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
		path, host, base64.StdEncoding.EncodeToString(key), subprotocol)
	conn.SetDeadline(time.Now().Add(Timeout))
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != subprotocol {
		t.Fatalf("subprotocol %q chosen, want %q", got, subprotocol)
	}
	conn.SetDeadline(time.Time{})
	return start(t, conn, br, true)
}

func start(t testing.TB, conn net.Conn, br *bufio.Reader, ws bool) *Client {
	c := &Client{t: t, conn: conn, ws: ws, frames: make(chan *stomp.Frame, 4096), done: make(chan struct{}), beat: make(chan struct{}, 1), Version: stomp.V12}
	t.Cleanup(func() { conn.Close() })
	go c.read(br)
	return c
}

func (c *Client) read(br *bufio.Reader) {
	defer close(c.done)
	defer close(c.frames)
	p := stomp.Parser{Limits: stomp.Limits{MaxBody: 16 << 20}, HeartBeat: func() {
		c.Beats.Add(1)
		select {
		case c.beat <- struct{}{}:
		default:
		}
	}}
	onFrame := func(f *stomp.Frame) error {
		if f.Command == "CONNECTED" {
			switch f.Value("version") {
			case "1.1":
				p.Version = stomp.V11
			case "1.2":
				p.Version = stomp.V12
			default:
				p.Version = stomp.V10
			}
		}
		c.frames <- f
		return nil
	}
	var wr wsframe.ClientReader
	wr.MaxMessage = 16 << 20
	buf := make([]byte, 64<<10)
	var src interface{ Read([]byte) (int, error) } = c.conn
	if br != nil {
		src = br
	}
	for {
		n, err := src.Read(buf)
		if n > 0 {
			var perr error
			if c.ws {
				perr = wr.Feed(buf[:n], func(op byte, payload []byte) error {
					if op == wsframe.OpClose {
						code, _ := wsframe.ParseClosePayload(payload)
						c.closeWS.Store(uint32(code))
						c.write(wsframe.AppendMaskedFrame(nil, wsframe.OpClose, true, [4]byte{9, 8, 7, 6}, payload[:min(len(payload), 2)]))
						return nil
					}
					if op != wsframe.OpText && op != wsframe.OpBinary {
						return nil
					}
					c.opsMu.Lock()
					c.ops = append(c.ops, op)
					c.opsMu.Unlock()
					return p.Feed(payload, onFrame)
				})
			} else {
				perr = p.Feed(buf[:n], onFrame)
			}
			if perr != nil {
				c.err = perr
				c.conn.Close()
				return
			}
		}
		if err != nil {
			c.err = err
			return
		}
	}
}

func (c *Client) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(Timeout))
	_, err := c.conn.Write(b)
	return err
}

// SendRaw writes raw bytes: as they are on TCP, as one WebSocket text
// message (binary if op says so) otherwise. Write errors are ignored: the
// server may have closed already, and the test looks at what it said.
func (c *Client) SendRaw(raw string, op ...byte) {
	b := []byte(raw)
	if c.ws {
		o := wsframe.OpText
		if len(op) > 0 {
			o = op[0]
		}
		b = wsframe.AppendMaskedFrame(nil, o, true, [4]byte{1, 2, 3, 4}, b)
	}
	c.write(b)
}

// Send writes a frame with headers given as key, value pairs, escaped
// for c.Version.
func (c *Client) Send(cmd, body string, kv ...string) {
	f := &stomp.Frame{Command: cmd, Body: []byte(body)}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Headers = append(f.Headers, stomp.Header{Key: kv[i], Value: kv[i+1]})
	}
	op := wsframe.OpText
	if strings.Contains(body, "\x00") {
		op = wsframe.OpBinary
	}
	c.SendRaw(string(stomp.AppendFrame(nil, c.Version, f)), op)
}

// Connect sends CONNECT (accept-version 1.2 unless kv sets it) and
// returns the CONNECTED frame.
func (c *Client) Connect(kv ...string) *stomp.Frame {
	c.t.Helper()
	hasVersion := false
	for i := 0; i < len(kv); i += 2 {
		hasVersion = hasVersion || kv[i] == "accept-version"
	}
	if !hasVersion {
		kv = append([]string{"accept-version", "1.2", "host", "localhost"}, kv...)
	}
	c.Send("CONNECT", "", kv...)
	f := c.Expect("CONNECTED")
	switch f.Value("version") {
	case "1.1":
		c.Version = stomp.V11
	case "1.2":
		c.Version = stomp.V12
	default:
		c.Version = stomp.V10
	}
	return f
}

// Next returns the next frame, failing the test if none comes in time or
// the connection ends.
func (c *Client) Next() *stomp.Frame {
	c.t.Helper()
	select {
	case f, ok := <-c.frames:
		if !ok {
			c.t.Fatalf("connection ended while waiting for a frame: %v", c.err)
		}
		return f
	case <-time.After(Timeout):
		c.t.Fatal("no frame within", Timeout)
	}
	return nil
}

// Expect returns the next frame, which must be a cmd frame.
func (c *Client) Expect(cmd string) *stomp.Frame {
	c.t.Helper()
	f := c.Next()
	if f.Command != cmd {
		c.t.Fatalf("got %s %v %q, want %s", f.Command, f.Headers, f.Body, cmd)
	}
	return f
}

// Receipt waits for the RECEIPT of id; MESSAGE frames before it are
// returned.
func (c *Client) Receipt(id string) []*stomp.Frame {
	c.t.Helper()
	var before []*stomp.Frame
	for {
		f := c.Next()
		if f.Command == "RECEIPT" {
			if got := f.Value("receipt-id"); got != id {
				c.t.Fatalf("receipt %q, want %q", got, id)
			}
			return before
		}
		if f.Command != "MESSAGE" {
			c.t.Fatalf("got %s %v %q while waiting for receipt %q", f.Command, f.Headers, f.Body, id)
		}
		before = append(before, f)
	}
}

// Closed waits until the server ends the connection and returns the
// frames it sent meanwhile.
func (c *Client) Closed() []*stomp.Frame {
	c.t.Helper()
	var rest []*stomp.Frame
	timeout := time.After(Timeout)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				return rest
			}
			rest = append(rest, f)
		case <-timeout:
			c.t.Fatal("the server did not close the connection")
		}
	}
}

// WaitBeats waits until n heart-beats have arrived in all, failing the
// test after Timeout.
func (c *Client) WaitBeats(n int64) {
	c.t.Helper()
	timeout := time.After(Timeout)
	for c.Beats.Load() < n {
		select {
		case <-c.beat:
		case <-c.done:
			c.t.Fatalf("connection ended after %d heart-beats: %v", c.Beats.Load(), c.err)
		case <-timeout:
			c.t.Fatalf("%d heart-beats within %v, want %d", c.Beats.Load(), Timeout, n)
		}
	}
}

// CloseCode is the code of the server's WebSocket close frame, 0 if none
// arrived (yet).
func (c *Client) CloseCode() uint16 { return uint16(c.closeWS.Load()) }

// Ops returns the WebSocket opcodes of the messages received so far.
func (c *Client) Ops() []byte {
	c.opsMu.Lock()
	defer c.opsMu.Unlock()
	return append([]byte(nil), c.ops...)
}

// Close closes the connection without a word, as a crashing client does.
func (c *Client) Close() { c.conn.Close() }
