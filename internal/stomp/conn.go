package stomp

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/heraldhq/herald/internal/ackgate"
	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/wsframe"
)

// Bounds of a session's state beyond the frame limits.
const (
	maxTransactions = 64      // open at once per session
	maxTxFrames     = 1000    // frames buffered by the open transactions
	maxTxBytes      = 4 << 20 // body bytes buffered by the open transactions
	framesPerTurn   = 64      // frames one mailbox job handles before yielding
)

// conn is one STOMP session.
//
// Three kinds of goroutine touch it: the I/O loop (OnMessage, OnClose),
// the session's mailbox (frame handlers, one at a time, in order) and
// publishers (Deliver, queue Take) plus the core's sweeper (Tick). The
// mailbox's state is under mu, because OnClose may run while a handler
// is running; publishers only touch a subscription's own state (under
// its lock) and fields fixed at CONNECT. Lock order: mu, then a queue's
// lock, then a subscription's lock, then the session's queue. mu is
// never held across application hooks, which may wait: OnClose takes it
// on the I/O loop.
type conn struct {
	a    *Adapter
	s    *core.Session
	ws   bool
	born time.Time

	gate ackgate.Gate    // receipts waiting for the store, and frames after them
	pipe *ackgate.Window // SENDs waiting for a cluster's stream (pipeline.go); made at the first

	// I/O loop only (gotConnect is read by Tick too).
	p          Parser
	gotConnect atomic.Bool

	// Frames parsed on the loop, waiting for the mailbox.
	inMu      sync.Mutex
	inbox     []*Frame
	inBytes   int
	inErr     error       // a parse error, reported after the frames before it
	scheduled bool        // a drain job is in the mailbox
	paused    atomic.Bool // reads paused until the mailbox catches up

	// Fixed by CONNECT (the loop negotiates the version, the mailbox
	// completes the session).
	version   atomic.Uint32
	connected atomic.Bool

	mu      sync.Mutex
	closed  bool
	subs    map[string]*subscription // by the client's id
	byIndex map[uint64]*subscription // by our index, which ack ids carry
	nextSub uint64
	txs     map[string]*transaction
	txCount int // frames in open transactions
	txBytes int

	hb heartbeat
	// pauseBytes is the parser's MaxBuffered, kept apart: the parser's
	// Limits are written by Feed on the loop while drain runs elsewhere.
	pauseBytes int
	msgID      atomic.Uint64 // ids of messages made for this session (RPC replies)
}

func (c *conn) v() Version { return Version(c.version.Load()) }

// OnMessage implements core.Protocol: parse, queue the frames for the
// mailbox, never block.
func (c *conn) OnMessage(op byte, data []byte) error {
	c.hb.heard.Store(true)
	if err := c.p.Feed(data, c.onFrame); err != nil {
		c.inMu.Lock()
		if c.inErr == nil {
			c.inErr = err
		}
		c.inMu.Unlock()
	}
	c.schedule()
	return nil
}

// onFrame runs on the loop for each parsed frame. The version is agreed
// here, not in the mailbox, because the frames that follow CONNECT in the
// same read must be unescaped by its rules.
func (c *conn) onFrame(f *Frame) error {
	if !c.s.AllowMessage() {
		return core.ErrMessageRate
	}
	if !c.gotConnect.Load() && (f.Command == cmdConnect || f.Command == cmdStomp) {
		c.gotConnect.Store(true)
		if v, ok := negotiate(f); ok {
			c.p.Version = v
			c.version.Store(uint32(v))
		}
	}
	size := frameSize(f)
	c.inMu.Lock()
	defer c.inMu.Unlock()
	// Past the pause mark the socket is left unread, so the kernel slows
	// the client down; the hard bound is for what one read still holds.
	pauseBytes := c.pauseBytes
	if c.inBytes+size > 2*pauseBytes || len(c.inbox) >= 8*pauseFrames {
		return &ParseError{Msg: "too many frames waiting: the client sends faster than the server handles them", TooLong: true}
	}
	c.inbox = append(c.inbox, f)
	c.inBytes += size
	if !c.paused.Load() && (c.inBytes > pauseBytes || len(c.inbox) > pauseFrames) {
		c.paused.Store(true)
		c.s.PauseReads()
	}
	return nil
}

// pauseFrames is how many frames may wait before reads pause.
const pauseFrames = 1024

// frameSize is what a waiting frame counts against the inbox bound.
func frameSize(f *Frame) int {
	n := len(f.Body) + 64
	for _, h := range f.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// schedule puts a drain job in the mailbox unless one is there.
func (c *conn) schedule() {
	c.inMu.Lock()
	if c.scheduled || len(c.inbox) == 0 && c.inErr == nil {
		c.inMu.Unlock()
		return
	}
	c.scheduled = true
	c.inMu.Unlock()
	if !c.s.Mailbox().Push(c.drain) && c.s.Open() {
		c.fail(nil, &stompError{msg: "too many requests in flight", code: core.CloseTryAgainLater, reason: "overload"})
	}
}

// drain handles waiting frames in order, a bounded number per turn so one
// busy session does not hold a worker; a parse error is reported once the
// frames read before it are handled.
func (c *conn) drain() {
	c.inMu.Lock()
	n := min(len(c.inbox), framesPerTurn)
	frames := c.inbox[:n:n]
	c.inbox = c.inbox[n:]
	if len(c.inbox) == 0 {
		c.inbox = nil
	}
	var perr error
	if n == 0 {
		perr, c.inErr = c.inErr, nil
	}
	for _, f := range frames {
		c.inBytes -= frameSize(f)
	}
	if c.paused.Load() && c.inBytes <= c.pauseBytes/2 && len(c.inbox) <= pauseFrames/2 {
		c.paused.Store(false)
		c.s.ResumeReads()
	}
	c.inMu.Unlock()

	for _, f := range frames {
		if !c.s.Open() {
			return
		}
		c.handle(f)
	}
	if perr != nil && c.s.Open() {
		c.fail(nil, parseFailure(perr))
		return
	}
	c.inMu.Lock()
	more := len(c.inbox) > 0 || c.inErr != nil
	c.scheduled = more
	c.inMu.Unlock()
	if more && !c.s.Mailbox().Push(c.drain) && c.s.Open() {
		c.fail(nil, &stompError{msg: "too many requests in flight", code: core.CloseTryAgainLater, reason: "overload"})
	}
}

func parseFailure(err error) *stompError {
	if errors.Is(err, core.ErrMessageRate) {
		return rateError
	}
	e := &stompError{msg: err.Error(), code: core.CloseProtocolError, reason: "protocol"}
	if pe, ok := err.(*ParseError); ok && pe.TooLong {
		e.code, e.reason = core.CloseMessageTooBig, "limit"
	}
	return e
}

// handle runs one frame on the mailbox and sends its receipt.
func (c *conn) handle(f *Frame) {
	var err *stompError
	switch {
	case f.Command == cmdConnect || f.Command == cmdStomp:
		if c.connected.Load() {
			err = protoErr("already connected: a second %s frame", f.Command)
		} else {
			err = c.onConnect(f)
		}
		if err != nil {
			c.fail(f, err)
		}
		return // CONNECT takes no receipt: CONNECTED is its answer
	case !c.connected.Load():
		err = protoErr("expected a CONNECT or STOMP frame first, got %s", f.Command)
	case !clientCommands[f.Command]:
		err = protoErr("unknown command %s", f.Command)
	case len(f.Body) > 0 && f.Command != cmdSend:
		err = protoErr("%s frames must not have a body", f.Command)
	default:
		switch f.Command {
		case cmdSend:
			var async bool
			if async, err = c.onSend(f); async {
				return // its receipt or error has its place (pipeline.go)
			}
		case cmdSubscribe:
			err = c.onSubscribe(f)
		case cmdUnsubscribe:
			err = c.onUnsubscribe(f)
		case cmdAck:
			err = c.onAck(f, false)
		case cmdNack:
			err = c.onAck(f, true)
		case cmdBegin:
			err = c.onBegin(f)
		case cmdCommit:
			err = c.onCommit(f)
		case cmdAbort:
			err = c.onAbort(f)
		case cmdDisconnect:
			c.onDisconnect(f)
			return
		}
	}
	if err != nil {
		c.fail(f, err)
		return
	}
	if r, ok := f.Get("receipt"); ok {
		c.sendReceipt(c.receiptFrame(r))
	}
}

// clientCommands are the frames a client may send once connected.
var clientCommands = map[string]bool{
	cmdSend: true, cmdSubscribe: true, cmdUnsubscribe: true, cmdAck: true, cmdNack: true,
	cmdBegin: true, cmdCommit: true, cmdAbort: true, cmdDisconnect: true,
}

// stompError is what an ERROR frame says, and how the connection ends.
type stompError struct {
	msg    string // the message header: names the problem
	detail string // the body
	code   uint16 // WebSocket close code after the ERROR
	reason string // metrics label
}

func (e *stompError) Error() string { return e.msg }

func protoErr(format string, a ...any) *stompError {
	return &stompError{msg: fmt.Sprintf(format, a...), code: core.CloseProtocolError, reason: "protocol"}
}

func missing(f *Frame, header string) *stompError {
	return protoErr("%s frame needs a %s header", f.Command, header)
}

// fail sends an ERROR frame about f (nil: not about one frame) and closes
// the connection after it. Anything the client sends after is ignored.
func (c *conn) fail(f *Frame, e *stompError) {
	// A header value of 1.0 cannot hold a line break; a message should
	// not need one in any version.
	msg := strings.NewReplacer("\r", " ", "\n", " ").Replace(e.msg)
	hs := []Header{{"message", msg}, {"content-type", "text/plain"}}
	if f != nil {
		if r, ok := f.Get("receipt"); ok {
			hs = append(hs, Header{"receipt-id", r})
		}
	}
	if e.msg == errVersionMsg {
		hs = append(hs, Header{"version", supportedVersions})
	}
	body := e.detail
	if body == "" {
		body = e.msg
		if f != nil {
			body += "\n\nin a " + f.Command + " frame"
		}
	}
	hs = append(hs, Header{"content-length", fmt.Sprint(len(body))})
	v := c.v()
	if v == 0 {
		v = V10 // before a version is agreed: escape nothing
	}
	c.a.errors.With(e.reason).Inc()
	c.closeAfter(AppendFrame(nil, v, &Frame{Command: cmdError, Headers: hs, Body: []byte(body)}), e.code, e.msg)
}

// closeAfter writes final (a STOMP frame, or nothing) after what is
// queued, then ends the connection: on TCP by half-closing, on WebSocket
// with a close frame of the given code.
func (c *conn) closeAfter(final []byte, code uint16, reason string) {
	if c.gate.Defer(func() { c.closeNow(final, code, reason) }) {
		return // after the receipts waiting for the store
	}
	c.closeNow(final, code, reason)
}

func (c *conn) closeNow(final []byte, code uint16, reason string) {
	if !c.ws {
		c.s.CloseAfter(final)
		return
	}
	if len(final) > 0 {
		c.s.Send(outq.Item{Own: c.wsFrame(final)})
	}
	if len(reason) > 120 {
		reason = reason[:120]
		for len(reason) > 0 && !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	c.s.CloseWith(code, reason)
}

// wsFrame frames a STOMP frame as one WebSocket message: text when it is
// UTF-8, binary otherwise.
func (c *conn) wsFrame(b []byte) []byte {
	op := byte(wsframe.OpText)
	if !utf8.Valid(b) {
		op = wsframe.OpBinary
	}
	return wsframe.AppendFrame(nil, op, b)
}

// sendControl queues a control frame (CONNECTED, RECEIPT, a reply).
func (c *conn) sendControl(b []byte) bool {
	if c.ws {
		b = c.wsFrame(b)
	}
	return c.gate.Send(b, c.queue)
}

func (c *conn) queue(b []byte) bool {
	if !c.s.Send(outq.Item{Own: b}) {
		return false
	}
	c.hb.markSent()
	return true
}

// sendReceipt sends a RECEIPT once what the queues were given so far is
// durable (ackgate), so a receipted SEND to a persisted queue, or a
// COMMIT of one, is never lost. A store failure ends the connection with
// an ERROR instead.
func (c *conn) sendReceipt(b []byte) {
	kv := c.a.cfg.Queues.Store()
	if kv == nil {
		c.sendControl(b)
		return
	}
	if c.ws {
		b = c.wsFrame(b)
	}
	c.gate.SendDurable(kv, b, c.queue, func(err error) {
		c.s.Core().Logger().Error("stomp: store failed, closing the connection without the receipt", "session", c.s.Scope.SessionID, "err", err)
		c.fail(nil, &stompError{msg: "store failed", code: core.CloseInternalError, reason: "store"})
	})
}

func (c *conn) receiptFrame(id string) []byte {
	esc := escapingFor(c.v(), cmdReceipt)
	b := append(make([]byte, 0, 24+len(id)), "RECEIPT\n"...)
	b = appendHeader(b, esc, "receipt-id", id)
	return append(b, '\n', 0)
}

// GoingAway implements the core's shutdown hook: an ERROR frame says why
// the connection ends.
func (c *conn) GoingAway() {
	c.closeAfter(AppendFrame(nil, max(c.v(), V10), &Frame{Command: cmdError, Headers: []Header{
		{"message", "server shutting down"}, {"content-type", "text/plain"}, {"content-length", "0"},
	}}), core.CloseGoingAway, "server shutting down")
}

// OnClose implements core.Protocol: subscriptions end, unacknowledged
// queue messages go back to their queues, transactions are dropped.
func (c *conn) OnClose() {
	c.mu.Lock()
	c.closed = true
	subs := c.subs
	c.subs, c.byIndex, c.txs = nil, nil, nil
	c.mu.Unlock()
	for _, sub := range subs {
		sub.stop()
	}
	c.inMu.Lock()
	c.inbox, c.inErr = nil, nil
	c.inMu.Unlock()
}
