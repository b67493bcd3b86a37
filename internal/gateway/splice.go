package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/poll"
	"github.com/heraldhq/herald/internal/wsframe"
)

// backend is the TCP side of a splice, with poll.Conn's semantics: Writev
// never blocks (ErrWouldBlock, then OnWritable), reads can be paused.
// *poll.Conn is one; streamBackend serves what epoll cannot (TLS).
type backend interface {
	Writev(bufs [][]byte) (int, error)
	CloseWrite() error
	Close() error
	PauseReads()
	ResumeReads()
}

// splice joins one client session to one backend connection. It is the
// session's core.Protocol (client events, on the client's loop) and, via
// backendSide, the backend's poll.Handler (backend events, on its loop).
type splice struct {
	rt   *route
	s    *core.Session
	text bool // base64 subprotocol

	mu            sync.Mutex
	be            backend // nil until connected
	pending       []byte  // client bytes the backend has not taken yet
	cancel        context.CancelFunc
	clientPaused  bool
	backendPaused bool
	shutWanted    bool // the client closed: half-close the backend after pending
	shut          bool
	ending        bool // we are closing the connection: failures are expected
	released      bool
	vec           [1][]byte // Writev's argument, without an allocation

	active atomic.Int64 // unix seconds of the last bytes either way
}

func open(rt *route, s *core.Session, text bool) *splice {
	sp := &splice{rt: rt, s: s, text: text}
	sp.active.Store(time.Now().Unix())
	rt.m.open.Inc()
	rt.m.total.Inc()
	// Nothing can go to the backend before it is connected: hold the
	// client back (the few bytes already read are kept in pending).
	sp.clientPaused = true
	s.PauseReads()
	ctx, cancel := context.WithTimeout(context.Background(), rt.ConnectTimeout)
	sp.cancel = cancel
	// Started from the mailbox, which runs once the session is fully
	// bound: the backend's first bytes must find it complete.
	if !s.Mailbox().Push(func() { go sp.dial(ctx) }) {
		cancel()
		s.CloseWith(wsframe.CloseTryAgainLater, "server busy")
	}
	return sp
}

// dial connects to the backend; it is the only goroutine of a plain
// connection and ends with the connect.
func (sp *splice) dial(ctx context.Context) {
	rt := sp.rt
	start := time.Now()
	var conn net.Conn
	var err error
	if rt.TLS != nil {
		d := tlsDialer(&rt.dialer, rt.TLS, rt.Backend)
		conn, err = d.DialContext(ctx, "tcp", rt.Backend)
	} else {
		conn, err = rt.dialer.DialContext(ctx, "tcp", rt.Backend)
	}
	var ne net.Error
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
	sp.mu.Lock()
	sp.cancel()
	sp.cancel = nil
	ending := sp.ending
	sp.mu.Unlock()
	if err != nil {
		if ending {
			return // the client left meanwhile
		}
		rt.gw.core.Logger().Warn("gateway: backend unavailable", "route", rt.Name, "backend", rt.Backend, "err", err)
		if timedOut {
			sp.end(wsframe.CloseBadGateway, "backend unavailable: connect timeout", "connect_timeout")
		} else {
			sp.end(wsframe.CloseBadGateway, "backend unavailable", "connect")
		}
		return
	}
	rt.m.connect.ObserveDuration(start)
	sp.attach(conn)
}

// attach puts the backend connection on the core's loop (or, for TLS, on
// goroutines) and sends what the client said meanwhile.
func (sp *splice) attach(conn net.Conn) {
	h := backendSide{sp}
	setBackend := func(be backend) {
		sp.mu.Lock()
		sp.be = be
		sp.mu.Unlock()
	}
	_, err := sp.rt.gw.core.Attach(conn, h, func(pc *poll.Conn) { setBackend(pc) })
	switch {
	case errors.Is(err, poll.ErrNotPollable):
		sb := newStreamBackend(conn, h, sp.rt.Buffer)
		setBackend(sb)
		sb.start()
	case err != nil:
		conn.Close()
		sp.end(wsframe.CloseGoingAway, "server shutting down", "")
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.ending {
		sp.be.Close()
		return
	}
	sp.flushLocked()
}

// OnMessage implements core.Protocol: client bytes toward the backend.
func (sp *splice) OnMessage(op byte, data []byte) error {
	if op == wsframe.OpText && sp.text {
		b, err := base64.StdEncoding.AppendDecode(nil, data)
		if err != nil {
			sp.rt.m.failed("bad_payload")
			return &core.CloseError{Code: wsframe.CloseInvalidPayload, Reason: "text messages must be base64 (subprotocol base64)"}
		}
		data = b
	}
	if len(data) == 0 {
		return nil
	}
	sp.active.Store(time.Now().Unix())
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.ending || sp.shutWanted {
		return nil
	}
	sp.rt.m.toBackend.Add(float64(len(data)))
	if sp.be == nil || len(sp.pending) > 0 {
		sp.keepLocked(data)
		return nil
	}
	sp.vec[0] = data
	n, err := sp.be.Writev(sp.vec[:])
	sp.vec[0] = nil
	if errors.Is(err, poll.ErrWouldBlock) {
		sp.keepLocked(data[n:])
	}
	// Any other error is the backend going away: its OnClose follows.
	return nil
}

// keepLocked holds bytes the backend cannot take now and stops reading
// the client until it does.
func (sp *splice) keepLocked(b []byte) {
	sp.pending = append(sp.pending, b...)
	storeMax(&sp.rt.peakPending, int64(len(sp.pending)))
	if !sp.clientPaused {
		sp.clientPaused = true
		sp.rt.pauses.Add(1)
		sp.rt.m.pausedClient.Inc()
		sp.s.PauseReads()
		if sp.rt.onPause != nil {
			sp.rt.onPause("client")
		}
	}
}

// flushLocked writes pending to the backend; once it is all written the
// client is read again, or the backend half-closed if the client closed.
func (sp *splice) flushLocked() {
	if sp.be == nil {
		return
	}
	if len(sp.pending) > 0 {
		sp.vec[0] = sp.pending
		n, err := sp.be.Writev(sp.vec[:])
		sp.vec[0] = nil
		switch {
		case errors.Is(err, poll.ErrWouldBlock):
			sp.pending = sp.pending[n:]
			return
		case err != nil:
			sp.pending = nil // the backend is gone; OnClose follows
			return
		}
		sp.pending = nil // an empty splice holds no buffer
	}
	if sp.shutWanted {
		if !sp.shut {
			sp.shut = true
			sp.be.CloseWrite()
		}
		return
	}
	if sp.clientPaused && !sp.ending {
		sp.clientPaused = false
		sp.s.ResumeReads()
	}
}

// OnPeerClose implements core.PeerCloser: the client's close frame
// half-closes the backend, whose output keeps flowing to the client.
func (sp *splice) OnPeerClose(code uint16) bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.be == nil || sp.ending {
		return false // not connected yet: just close
	}
	sp.shutWanted = true
	sp.flushLocked()
	return true
}

// OnClose implements core.Protocol: the client is gone.
func (sp *splice) OnClose() {
	sp.mu.Lock()
	sp.ending = true
	be := sp.be
	if sp.cancel != nil {
		sp.cancel() // a dial in progress gives up
	}
	sp.pending = nil
	released := sp.released
	sp.released = true
	sp.mu.Unlock()
	if be != nil {
		be.Close()
	}
	if !released {
		sp.rt.release()
		sp.rt.m.open.Dec()
	}
}

// GoingAway implements the core's shutdown hook.
func (sp *splice) GoingAway() {
	sp.end(wsframe.CloseGoingAway, "server shutting down", "")
}

// Tick implements core.Ticker: the idle timeout.
func (sp *splice) Tick(now time.Time) {
	if now.Unix()-sp.active.Load() >= int64(sp.rt.IdleTimeout/time.Second) {
		sp.end(wsframe.CloseGoingAway, "idle timeout", "idle_timeout")
	}
}

// OnDrained implements core.Drainer: the client has taken everything
// queued, so the backend may be read again.
func (sp *splice) OnDrained() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.resumeBackendLocked()
}

func (sp *splice) resumeBackendLocked() {
	if !sp.backendPaused || sp.be == nil {
		return
	}
	if frames, bytes := sp.s.Backlog(); bytes < sp.rt.Buffer && frames < sp.rt.frameHW {
		sp.backendPaused = false
		sp.be.ResumeReads()
	}
}

// end closes both sides: the client with code and reason (after what is
// queued), the backend at once. metric names the failure, if it is one.
func (sp *splice) end(code uint16, reason, metric string) {
	sp.mu.Lock()
	if sp.ending {
		sp.mu.Unlock()
		return
	}
	sp.ending = true
	be := sp.be
	if sp.clientPaused {
		// The closing handshake needs the client's answer.
		sp.clientPaused = false
		sp.s.ResumeReads()
	}
	sp.mu.Unlock()
	if metric != "" {
		sp.rt.m.failed(metric)
	}
	sp.s.CloseWith(code, reason)
	if be != nil {
		be.Close()
	}
}

// backendSide receives the backend's events.
type backendSide struct{ sp *splice }

// OnRead implements poll.Handler: backend bytes toward the client.
func (h backendSide) OnRead(p []byte) {
	sp := h.sp
	sp.active.Store(time.Now().Unix())
	sp.rt.m.toClient.Add(float64(len(p)))
	var frame []byte
	if sp.text {
		n := base64.StdEncoding.EncodedLen(len(p))
		frame = wsframe.AppendHeader(make([]byte, 0, wsframe.HeaderLen(n)+n), wsframe.OpText, true, false, n)
		frame = base64.StdEncoding.AppendEncode(frame, p)
	} else {
		frame = wsframe.AppendFrame(make([]byte, 0, wsframe.HeaderLen(len(p))+len(p)), wsframe.OpBinary, p)
	}
	// Reply writes at once when nothing else is queued (the loop's write
	// never blocks; a full socket leaves the rest to the flush pool):
	// one goroutine hand-off less on every chunk.
	if !sp.s.Reply(outq.Item{Own: frame}) {
		// The client is closing: nothing more can reach it.
		sp.end(wsframe.CloseGoingAway, "", "")
		return
	}
	frames, bytes := sp.s.Backlog()
	storeMax(&sp.rt.peakBacklog, int64(bytes))
	if bytes < sp.rt.Buffer && frames < sp.rt.frameHW {
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.backendPaused || sp.ending || sp.be == nil {
		return
	}
	sp.backendPaused = true
	sp.rt.pauses.Add(1)
	sp.rt.m.pausedBackend.Inc()
	sp.be.PauseReads()
	if sp.rt.onPause != nil {
		sp.rt.onPause("backend")
	}
	// The flush may have drained the backlog before the pause took: check
	// again, or nobody would resume.
	sp.resumeBackendLocked()
}

// OnWritable implements poll.Handler: the backend drained, send the rest.
func (h backendSide) OnWritable() {
	sp := h.sp
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.flushLocked()
}

// OnClose implements poll.Handler: the backend connection ended. Its
// output has all been queued (reads stop only at the end), so the close
// frame follows it.
func (h backendSide) OnClose(err error) {
	sp := h.sp
	sp.mu.Lock()
	ending := sp.ending
	sp.mu.Unlock()
	switch {
	case ending:
	case err == nil:
		sp.end(wsframe.CloseNormal, "", "")
	case errors.Is(err, poll.ErrClosed):
		sp.end(wsframe.CloseGoingAway, "server shutting down", "")
	default:
		sp.rt.gw.core.Logger().Info("gateway: backend connection lost", "route", sp.rt.Name, "err", err)
		sp.end(wsframe.CloseBadGateway, "backend connection lost", "backend_lost")
	}
}
