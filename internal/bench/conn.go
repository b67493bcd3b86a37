package bench

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/wsframe"
)

// maskKey is the fixed masking key of every client frame. RFC 6455 wants
// an unpredictable key to defeat cache poisoning by intermediaries; on
// loopback there are none, and a fixed key keeps the sender cheap while
// still exercising the server's unmasking.
var maskKey = [4]byte{0x5a, 0x17, 0xc3, 0x9e}

// errClosing stops Feed once a close frame has arrived.
var errClosing = errors.New("close frame received")

// Conn is one lean client connection: a reader goroutine feeds a
// wsframe.ClientReader from a fixed read buffer and hands data messages to
// OnData; writes are masked into a reused buffer under a mutex (the reader
// answers pings, so it may write too).
type Conn struct {
	ID int

	// OnData receives every text or binary message on the reader
	// goroutine; payload is valid only during the call.
	OnData func(op byte, payload []byte)
	// AfterRead runs on the reader goroutine after each socket read has
	// been parsed, so scenarios can publish per-read counts in one atomic
	// operation rather than one per message. May be nil.
	AfterRead func()

	nc      net.Conn
	rd      wsframe.ClientReader
	pending []byte // frames that arrived with the handshake response
	buf     []byte // read buffer
	feed    func(byte, []byte) error
	stats   *Stats

	wmu  sync.Mutex
	wbuf []byte // frame being written
	pbuf []byte // payload being built by WriteWith

	closing atomic.Bool // we sent a close frame or are tearing down
	done    chan struct{}
	err     error // why the reader stopped (nil after a clean close)
}

func newConn(id int, nc net.Conn, buf, pending []byte, stats *Stats) *Conn {
	c := &Conn{ID: id, nc: nc, buf: buf, pending: pending, stats: stats, done: make(chan struct{})}
	c.rd.MaxMessage = 1 << 20
	c.feed = c.onFrame // one method value per connection, not per read
	return c
}

// start launches the reader goroutine.
func (c *Conn) start() {
	c.stats.Open.Add(1)
	go c.readLoop()
}

func (c *Conn) readLoop() {
	defer close(c.done)
	defer c.stats.Open.Add(-1)
	defer c.nc.Close()
	if len(c.pending) > 0 {
		// pending aliases buf: parse it before the first Read reuses buf.
		err := c.rd.Feed(c.pending, c.feed)
		c.pending = nil
		if c.afterRead(err) {
			return
		}
	}
	for {
		n, err := c.nc.Read(c.buf)
		if n > 0 && c.afterRead(c.rd.Feed(c.buf[:n], c.feed)) {
			return
		}
		if err != nil {
			if !c.closing.Load() {
				c.err = err
				c.stats.Errors.Add(1)
			}
			return
		}
	}
}

// afterRead finishes one parsed read and reports whether to stop.
func (c *Conn) afterRead(ferr error) bool {
	if c.AfterRead != nil {
		c.AfterRead()
	}
	if ferr == nil {
		return false
	}
	if !errors.Is(ferr, errClosing) {
		c.err = ferr
		c.stats.Errors.Add(1)
	}
	return true
}

func (c *Conn) onFrame(op byte, p []byte) error {
	switch op {
	case wsframe.OpText, wsframe.OpBinary:
		if c.OnData != nil {
			c.OnData(op, p)
		}
	case wsframe.OpPing:
		c.WriteMessage(wsframe.OpPong, p)
	case wsframe.OpClose:
		if !c.closing.Swap(true) {
			// The server closed first: answer with its code, then stop.
			code, _ := wsframe.ParseClosePayload(p)
			c.err = &wsframe.CloseError{Code: code}
			c.stats.Errors.Add(1)
			c.writeClose(code)
		}
		return errClosing
	}
	return nil
}

// WriteMessage sends one masked frame with FIN set. It is safe for
// concurrent use; p may be reused as soon as it returns.
func (c *Conn) WriteMessage(op byte, p []byte) error {
	c.wmu.Lock()
	c.wbuf = wsframe.AppendMaskedFrame(c.wbuf[:0], op, true, maskKey, p)
	_, err := c.nc.Write(c.wbuf)
	c.wmu.Unlock()
	return err
}

// WriteWith builds a payload with build(dst, arg) and sends it as one
// masked frame, all under the write lock, so state that build keeps (a
// request counter) needs no other synchronization and the payload buffer
// is reused without allocating. build should be a function value created
// once per connection.
func (c *Conn) WriteWith(op byte, arg int64, build func(dst []byte, arg int64) []byte) error {
	c.wmu.Lock()
	c.pbuf = build(c.pbuf[:0], arg)
	c.wbuf = wsframe.AppendMaskedFrame(c.wbuf[:0], op, true, maskKey, c.pbuf)
	_, err := c.nc.Write(c.wbuf)
	c.wmu.Unlock()
	return err
}

func (c *Conn) writeClose(code uint16) {
	var p [2]byte
	if code != wsframe.CloseNoStatus && code != 0 {
		p = [2]byte{byte(code >> 8), byte(code)}
		c.WriteMessage(wsframe.OpClose, p[:])
		return
	}
	c.WriteMessage(wsframe.OpClose, nil)
}

// Err is why the connection ended abnormally, nil if it is open or closed
// cleanly. Valid once Done is closed.
func (c *Conn) Err() error { return c.err }

// Done is closed when the reader goroutine has stopped.
func (c *Conn) Done() <-chan struct{} { return c.done }

func (c *Conn) readerDone() <-chan struct{} { return c.done }
func (c *Conn) conn() net.Conn              { return c.nc }

// LocalAddr is the connection's source address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// closeAll runs the closing handshake on every connection: send close
// 1000 to all, wait until the server has answered each (the readers stop)
// or the deadline passes, then drop whatever is left.
func closeAll(conns []*Conn, deadline time.Time) {
	for _, c := range conns {
		if !c.closing.Swap(true) {
			c.nc.SetWriteDeadline(deadline)
			c.writeClose(wsframe.CloseNormal)
		}
	}
	awaitClosed(conns, deadline)
}
