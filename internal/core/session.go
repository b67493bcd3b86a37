package core

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/limit"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/poll"
	"github.com/heraldhq/herald/internal/sched"
	"github.com/heraldhq/herald/internal/wsframe"
)

// Protocol is one connection's protocol state, created by an Adapter.
type Protocol interface {
	// OnMessage handles one inbound WebSocket message (op is the opcode)
	// or, on a raw byte-stream transport, the next chunk (op 0). It runs on
	// the I/O loop: parse and hand off to the session's mailbox, never
	// block. data is valid only during the call. An error closes the
	// session (a *CloseError chooses the code).
	OnMessage(op byte, data []byte) error
	// OnClose runs once when the session has ended.
	OnClose()
}

// Drainer is implemented by protocols that pace a producer by the
// session's backlog (a TCP gateway pauses its backend while the client
// is slow): OnDrained is called by the flush, off the I/O loop, each time
// everything queued has been written. It must not block.
type Drainer interface {
	OnDrained()
}

// PeerCloser is implemented by protocols that finish their own output
// after the client's WebSocket close frame (a TCP gateway half-closes its
// backend and relays the rest). OnPeerClose runs on the I/O loop; by
// returning true the protocol takes over: the session stays open for
// sending, ignores further input and the protocol calls CloseWith when
// done. Returning false answers the close at once, as without the
// interface.
type PeerCloser interface {
	OnPeerClose(code uint16) bool
}

// Session states.
const (
	stateOpen int32 = iota
	stateClosing
	stateClosed
)

// Session is one client connection, whatever its protocol: identity and
// scope, the bounded outbound queue and its flush, the ordered request
// mailbox, and the close handshake.
type Session struct {
	core  *Core
	Scope Scope
	tr    transport
	wsin  *wsframe.Reader // WebSocket frame parser (112 B); nil on raw byte streams
	proto Protocol
	box   *sched.Serial

	// WebSocket framing of outbound messages; raw stream transports frame
	// nothing.
	ws      bool
	deflate bool

	state atomic.Int32
	// Coarse unix seconds, truncated to 32 bits (differences wrap
	// correctly): every idle connection holds these.
	lastRead   atomic.Uint32 // the last inbound bytes
	lastPing   uint32        // touched only by the sweeper
	paused     atomic.Bool   // PauseReads in effect
	peerClosed atomic.Bool   // the client's close frame went to a PeerCloser
	discard    atomic.Bool   // an inbound error closed the session: later input is not parsed
	discarded  int32         // bytes read since; touched only by the reader

	qmu          sync.Mutex
	q            outq.Queue
	short        *shortWrite // unwritten rest of a short write; nil when none
	flushing     bool        // scheduled on, or running in, the flush pool
	waitWritable bool        // socket full: wait for OnWritable
	writable     bool        // OnWritable arrived while a flush was running
	finAfter     bool        // close once everything queued is written
	ended        bool        // end ran: the context is cancelled; guarded by mu (placed here to pack)
	wake         chan struct{}

	mu    sync.Mutex // guards subs, ended and watch
	subs  []string
	watch *ctxWatch   // the context's waiters (sessctx.go); nil until Done or AfterFunc
	timer *time.Timer // close-handshake deadline

	// Limits (limits.go).
	ticket  *Ticket       // the admitted connection's places
	refused error         // why it was not admitted
	msgs    *limit.Bucket // inbound message rate; nil for none
}

// Core returns the server core the session belongs to.
func (s *Session) Core() *Core { return s.core }

// WebSocket reports whether the session speaks WebSocket frames, and
// Deflate whether permessage-deflate was negotiated.
func (s *Session) WebSocket() bool { return s.ws }
func (s *Session) Deflate() bool   { return s.deflate }

// Mailbox is the session's ordered queue of application work.
func (s *Session) Mailbox() *sched.Serial { return s.box }

// Open reports whether the session still accepts outbound frames.
func (s *Session) Open() bool { return s.state.Load() == stateOpen }

// PauseReads stops reading from the client until ResumeReads:
// backpressure for a protocol whose own consumer is slow (a TCP gateway's
// backend). Input waits in the kernel, whose receive window slows the
// client down; the idle timeout does not apply meanwhile. Callers
// serialize their PauseReads and ResumeReads calls.
func (s *Session) PauseReads() {
	s.paused.Store(true)
	s.tr.pauseReads()
}

// ResumeReads undoes PauseReads.
func (s *Session) ResumeReads() {
	s.paused.Store(false)
	s.tr.resumeReads()
}

// Backlog reports what waits to be written: frames queued, and bytes
// queued plus the unwritten rest of a short write.
func (s *Session) Backlog() (frames, bytes int) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return s.q.Len(), s.q.Bytes() + s.short.size()
}

// Send queues a frame for writing. It reports false when the session is
// closing or the slow-consumer policy disconnected it.
func (s *Session) Send(it outq.Item) bool {
	s.qmu.Lock()
	if s.state.Load() != stateOpen {
		s.qmu.Unlock()
		return false
	}
	dropped, err := s.q.Push(it, s.short.size())
	if err != nil {
		s.qmu.Unlock()
		s.core.m.slowDisconnects.Inc()
		s.CloseWith(ClosePolicyViolation, "slow consumer: outbound queue full")
		return false
	}
	if dropped > 0 {
		s.core.m.queueDrops.Add(float64(dropped))
	}
	s.scheduleLocked()
	s.qmu.Unlock()
	return true
}

// Reply queues a response from the worker running this session's
// request and, when no other request of the session waits and nothing
// is being flushed, writes it right away on the calling worker: one
// goroutine hand-off less per request. The write never blocks (a full
// socket leaves the rest to the flush pool, as usual); publishers still
// use Send, so a fan-out never writes to sockets.
func (s *Session) Reply(it outq.Item) bool {
	if s.tr.blocking() || s.box.Len() > 0 {
		return s.Send(it)
	}
	s.qmu.Lock()
	if s.state.Load() != stateOpen {
		s.qmu.Unlock()
		return false
	}
	if _, err := s.q.Push(it, s.short.size()); err != nil {
		s.qmu.Unlock()
		return s.Send(it) // the policy applies as for Send
	}
	if s.flushing || s.waitWritable {
		s.qmu.Unlock()
		return true // the running flush, or the writable event, takes it
	}
	s.flushing = true
	s.qmu.Unlock()
	s.Run()
	return true
}

func (s *Session) scheduleLocked() {
	if s.flushing || s.waitWritable || s.state.Load() == stateClosed {
		return
	}
	s.flushing = true
	if s.tr.blocking() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
		return
	}
	if !s.core.flushers.Submit(s) {
		s.flushing = false
	}
}

var scratch = sync.Pool{New: func() any { b := make([][]byte, 0, 64); return &b }}

// Run flushes: everything queued goes out in one vectored write per round.
// It implements sched.Runnable for the flush pool.
func (s *Session) Run() {
	for {
		s.qmu.Lock()
		if s.state.Load() == stateClosed {
			s.flushing = false
			s.qmu.Unlock()
			return
		}
		if s.short == nil && s.q.Len() == 0 {
			s.flushing = false
			fin := s.finAfter
			s.finAfter = false
			s.qmu.Unlock()
			if fin {
				s.halfClose()
			} else if d, ok := s.proto.(Drainer); ok {
				d.OnDrained()
			}
			return
		}
		sp := scratch.Get().(*[][]byte)
		bufs := (*sp)[:0]
		if s.short != nil {
			bufs = append(bufs, s.short.bufs...)
		}
		bufs = s.q.Drain(bufs)
		s.short, s.writable = nil, false
		s.qmu.Unlock()

		n, err := s.tr.Writev(bufs)
		s.core.m.bytesOut.Add(float64(n))
		if errors.Is(err, poll.ErrWouldBlock) {
			rest := remainder(bufs, n)
			clear(bufs)
			*sp = bufs[:0]
			scratch.Put(sp)
			s.qmu.Lock()
			s.short = rest
			if s.writable { // drained meanwhile: go again
				s.qmu.Unlock()
				continue
			}
			s.waitWritable, s.flushing = true, false
			s.qmu.Unlock()
			return
		}
		clear(bufs)
		*sp = bufs[:0]
		scratch.Put(sp)
		if err != nil {
			s.tr.Close()
			return
		}
	}
}

// shortWrite is what a short write left unwritten. It lives outside the
// Session, which every idle connection holds, as it is rarely there.
type shortWrite struct {
	bufs [][]byte
	n    int // bytes in bufs
}

// size is the bytes left; 0 for none (a nil w).
func (w *shortWrite) size() int {
	if w == nil {
		return 0
	}
	return w.n
}

// remainder copies what a short write of n bytes left of bufs; nil
// when nothing is left.
func remainder(bufs [][]byte, n int) *shortWrite {
	rest := new(shortWrite)
	for _, b := range bufs {
		if n >= len(b) {
			n -= len(b)
			continue
		}
		b = b[n:]
		n = 0
		rest.bufs = append(rest.bufs, b)
		rest.n += len(b)
	}
	if rest.bufs == nil {
		return nil
	}
	return rest
}

// OnWritable implements poll.Handler.
func (s *Session) OnWritable() {
	s.qmu.Lock()
	s.writable = true
	if s.waitWritable {
		s.waitWritable = false
		s.scheduleLocked()
	}
	s.qmu.Unlock()
}

// OnRead implements poll.Handler.
func (s *Session) OnRead(p []byte) {
	if s.state.Load() == stateClosed {
		return
	}
	s.lastRead.Store(uint32(s.core.now()))
	s.core.m.bytesIn.Add(float64(len(p)))
	if s.discard.Load() {
		// Enough for a close reply and the hang-up; past it the client
		// ignores the close (a flood) and is not read from again: the
		// close timer ends it.
		if s.discarded = int32(min(int(s.discarded)+len(p), discardMax+1)); s.discarded > discardMax {
			s.tr.pauseReads()
		}
		return
	}
	var err error
	if s.wsin != nil {
		err = s.wsin.Feed(p, s.onFrame)
	} else if s.Open() { // a raw byte stream goes straight to the protocol
		err = s.proto.OnMessage(0, p)
	}
	if err != nil {
		s.fail(err)
	}
}

// discardMax is what a session closed for bad input still reads.
const discardMax = 64 << 10

// fail closes the session for an inbound error. What the client sends
// after is not parsed (see OnRead): a flood that ignores the close costs
// little more, and the close timer ends it.
func (s *Session) fail(err error) {
	s.discard.Store(true)
	var ce *CloseError
	if errors.As(err, &ce) {
		s.CloseWith(ce.Code, ce.Reason)
		return
	}
	s.core.log.Debug("session error", "session", s.Scope.SessionID, "err", err)
	s.CloseWith(CloseInternalError, "internal error")
}

// CloseWith starts closing: on WebSocket a close frame with code and
// reason is queued after what is already waiting; then the write side is
// shut and the peer given CloseTimeout to finish. Safe to call repeatedly.
func (s *Session) CloseWith(code uint16, reason string) {
	var final []byte
	if s.ws {
		final = closeFrame(code, reason)
	}
	s.CloseAfter(final)
}

// CloseAfter is CloseWith for raw protocols: final (an ERROR frame, say)
// is the last thing written before the connection closes.
func (s *Session) CloseAfter(final []byte) {
	s.qmu.Lock()
	if !s.state.CompareAndSwap(stateOpen, stateClosing) {
		s.qmu.Unlock()
		return
	}
	if len(final) > 0 {
		s.q.Push(outq.Item{Own: final}, 0)
	}
	s.finAfter = true
	if s.waitWritable || s.flushing {
		s.qmu.Unlock()
		s.armCloseTimer()
		return
	}
	s.scheduleLocked()
	s.qmu.Unlock()
	s.armCloseTimer()
}

// halfClose runs after the final frame is written: send FIN and wait for
// the peer to close (closing with unread input would reset the connection
// and could destroy our close or ERROR frame in flight). The close timer
// ends it if the peer does not.
func (s *Session) halfClose() {
	if s.tr.CloseWrite() != nil {
		// Nothing to wait for: a TLS connection whose handshake never
		// finished (slowloris), or a socket already gone.
		s.tr.Close()
	}
}

func (s *Session) armCloseTimer() {
	s.mu.Lock()
	if s.timer == nil {
		s.timer = time.AfterFunc(s.core.cfg.CloseTimeout, func() { s.tr.Close() })
	}
	s.mu.Unlock()
}

// Abort closes the connection at once, without a closing handshake.
func (s *Session) Abort() { s.tr.Close() }

// OnClose implements poll.Handler: the connection is gone.
func (s *Session) OnClose(err error) {
	if s.state.Swap(stateClosed) == stateClosed {
		return
	}
	s.mu.Lock()
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.qmu.Lock()
	s.q.Reset()
	s.short = nil
	if s.wake != nil {
		close(s.wake) // under qmu: scheduleLocked sees stateClosed first
	}
	s.qmu.Unlock()
	// What the client sent before it went away still runs (an MQTT
	// PUBLISH followed by a close, a JSON publish notification): only
	// then does the session end. Nothing more is delivered meanwhile.
	s.box.Drain(s.end)
}

// end is a closed session's last step, after its pending work: cancel its
// context, drop its subscriptions (including any that pending work made),
// let the protocol clean up, leave the registry.
func (s *Session) end() {
	s.mu.Lock()
	subs := s.subs
	s.subs = nil
	s.ended = true
	s.mu.Unlock()
	s.cancelContext()
	for _, f := range subs {
		s.core.router.Unsubscribe(s, f)
	}
	s.proto.OnClose()
	s.releaseAdmission()
	s.core.remove(s)
}
