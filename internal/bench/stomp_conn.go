package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/heraldhq/herald/internal/wsframe"
)

// stompConn is one lean STOMP client connection, built like mqttConn: a
// reader goroutine parses frames from a fixed read buffer and hands them
// to OnFrame; writes go through a reused buffer under a mutex (wrapped in
// a masked text message over WebSocket).
type stompConn struct {
	ID int
	// OnFrame receives every frame after CONNECTED on the reader
	// goroutine; its slices are valid only during the call.
	OnFrame func(cmd, headers, body []byte)
	// AfterRead runs after each socket read has been parsed. May be nil.
	AfterRead func()

	frameWriter
	wr      wsframe.ClientReader
	sr      stompReader
	pending []byte
	buf     []byte
	stats   *Stats

	onWS      func(op byte, p []byte) error // method values made once
	onFrame   func(cmd, headers, body []byte) error
	connected bool
	refusal   error // an ERROR frame in answer to CONNECT

	readLoop
}

func (c *stompConn) feed(p []byte) error {
	if c.ws {
		return c.wr.Feed(p, c.onWS)
	}
	return c.sr.Feed(p, c.onFrame)
}

func (c *stompConn) wsMessage(op byte, p []byte) error {
	switch op {
	case wsframe.OpText, wsframe.OpBinary:
		return c.sr.Feed(p, c.onFrame)
	case wsframe.OpPing:
		c.control(wsframe.OpPong, p)
	case wsframe.OpClose:
		if !c.closing.Swap(true) {
			code, _ := wsframe.ParseClosePayload(p)
			return &wsframe.CloseError{Code: code}
		}
		return errClosing
	}
	return nil
}

func (c *stompConn) frame(cmd, headers, body []byte) error {
	if !c.connected {
		switch string(cmd) {
		case "CONNECTED":
			c.connected = true
			return nil
		case "ERROR":
			msg, _ := stompHeader(headers, "message")
			c.refusal = fmt.Errorf("%w: CONNECT refused: %s %s", errSTOMP, msg, bytes.TrimSpace(body))
			return c.refusal
		}
		return fmt.Errorf("%w: expected CONNECTED, got %s", errSTOMP, cmd)
	}
	if c.OnFrame != nil {
		c.OnFrame(cmd, headers, body)
	}
	return nil
}

// connect sends CONNECT and reads until CONNECTED.
func (c *stompConn) connect(host, login, passcode string) error {
	if err := c.write(appendStompConnect(nil, host, login, passcode)); err != nil {
		return err
	}
	if len(c.pending) > 0 {
		err := c.feed(c.pending) // pending aliases buf: parse it before reading
		c.pending = nil
		if err != nil {
			return err
		}
	}
	for !c.connected {
		n, err := c.nc.Read(c.buf)
		if n > 0 {
			if ferr := c.feed(c.buf[:n]); ferr != nil {
				return ferr
			}
		}
		if err != nil && !c.connected {
			return fmt.Errorf("%w: waiting for CONNECTED: %w", errSTOMP, err)
		}
	}
	return nil
}

func (c *stompConn) start() {
	c.stats.Open.Add(1)
	go c.run(c.nc, c.buf, c.stats, c.feed, c.AfterRead)
}

// stompDialer opens STOMP connections, a bounded number in flight.
type stompDialer struct {
	Target      Target
	WS          bool
	Subprotocol string // over WebSocket; v12.stomp by default
	Host        string // CONNECT's host header
	Login       string
	Passcode    string
	Sources     []netip.Addr
	Concurrency int
	ReadBuffer  int
	Timeout     time.Duration
	Stats       *Stats
	// Setup runs after CONNECTED and before the reader starts.
	Setup func(c *stompConn)
}

// Open opens n connections with IDs first..first+n-1.
func (d *stompDialer) Open(ctx context.Context, first, n int) (OpenResult, []*stompConn) {
	return openAll(ctx, n, d.Concurrency, d.Stats, func(i int) (*stompConn, error) { return d.dial(ctx, first+i) })
}

func (d *stompDialer) dial(ctx context.Context, id int) (*stompConn, error) {
	proto := d.Subprotocol
	if proto == "" {
		proto = "v12.stomp"
	}
	nc, buf, rest, err := dialStream(ctx, d.Sources, id, d.Target, d.WS, proto, d.ReadBuffer, d.Timeout)
	if err != nil {
		return nil, err
	}
	c := &stompConn{ID: id, frameWriter: frameWriter{nc: nc, ws: d.WS, op: wsframe.OpText}, buf: buf, pending: rest, stats: d.Stats, readLoop: readLoop{done: make(chan struct{})}}
	c.wr.MaxMessage = 1 << 20
	c.sr.Max = 1 << 20
	c.onWS, c.onFrame = c.wsMessage, c.frame
	host := d.Host
	if host == "" {
		host = "/"
	}
	if err := c.connect(host, d.Login, d.Passcode); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	if d.Setup != nil {
		d.Setup(c)
	}
	c.start()
	return c, nil
}

// closeSTOMP sends DISCONNECT (and a WebSocket close) on every connection,
// waits until the server has closed each or the deadline passes, then
// drops whatever is left.
func closeSTOMP(conns []*stompConn, deadline time.Time) {
	for _, c := range conns {
		if !c.closing.Swap(true) {
			c.nc.SetWriteDeadline(deadline)
			c.write(appendStompDisconnect(nil))
			if c.ws {
				c.control(wsframe.OpClose, []byte{0x03, 0xe8})
			} else if tc, ok := c.nc.(*net.TCPConn); ok {
				tc.CloseWrite() // brokers close on DISCONNECT or EOF
			}
		}
	}
	awaitClosed(conns, deadline)
}
