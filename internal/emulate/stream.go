package emulate

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/httpx"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/sse"
)

// stream answers GET ?session=ID with an SSE stream of the session's
// messages, each event's id its number, so that EventSource's reconnect
// (Last-Event-ID) acknowledges what arrived and resumes after it. An
// "event: close" with {"code","reason"} ends the stream when the session
// ends. The stream is a raw core session: idle, it holds no goroutine.
func (m *Manager) stream(w http.ResponseWriter, r *http.Request, id string) {
	ss, after, ok := m.begin(w, r, id)
	if !ok {
		return
	}
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			httpx.Error(w, http.StatusBadRequest, "bad_ack", "Last-Event-ID must be a message number")
			return
		}
		after = max(after, n)
	}
	if err := ss.ack(after); err != nil {
		badAck(w, err)
		return
	}
	ss.mu.Lock()
	cs, ended := ss.cs, ss.ended
	ss.mu.Unlock()
	if ended || cs == nil {
		m.forget(ss)
		httpx.Error(w, http.StatusGone, "session_closed", "the session has ended; open a new one and resume from your positions")
		return
	}
	header := http.Header{}
	for k, vs := range w.Header() { // CORS
		header[k] = vs
	}
	header.Set("Content-Type", "text/event-stream; charset=utf-8")
	header.Set("Cache-Control", "no-store")
	header.Set("X-Accel-Buffering", "no")
	header.Set("X-Content-Type-Options", "nosniff")
	c := &consumer{ss: ss, heartbeat: max(int64(m.cfg.Heartbeat/time.Second), 1)}
	retry := m.cfg.Retry + rand.N(m.cfg.Retry+1)
	m.cfg.Core.ServeStream(w, r, core.Stream{
		Header: header, Protocol: m.cfg.Protocol, Transport: "stream", Identity: cs.Scope.Identity,
		Adapter: consumerAdapter{c},
	}, func(*core.Session) { ss.attach(c, after, retry) })
}

// attach makes c the session's listener: it gets the retry delay, every
// logged message after `after`, then each new one as it is logged.
func (ss *session) attach(c *consumer, after uint64, retry time.Duration) {
	ss.mu.Lock()
	old := ss.consumer
	if ss.replaced != nil {
		close(ss.replaced) // a held poll gives way
		ss.replaced = nil
	}
	ss.consumer, ss.sent = c, after
	c.send(sse.AppendRetry(nil, retry))
	ss.pushLocked()
	ended, code, reason := ss.ended, ss.code, ss.reason
	ss.mu.Unlock()
	if old != nil {
		old.release()
	}
	if ended {
		c.end(code, reason)
	}
}

// pushLocked queues to the consumer what it has not been sent; ss.mu
// held. Each event is its own copy of the message ("id: N" differs per
// session): the message's encoding itself stays shared in the log.
func (ss *session) pushLocked() {
	c := ss.consumer
	if c == nil {
		return
	}
	for {
		first, msgs, err := ss.m.cfg.Store.Read(ss.id, ss.sent, 256, 1<<20)
		if vis := ss.m.visible(ss.id); err == nil && len(msgs) > 0 && first+uint64(len(msgs))-1 > vis {
			// Only durable numbers: OnDurable pushes the rest.
			if vis < first {
				return
			}
			msgs = msgs[:vis-first+1]
		}
		if err != nil || len(msgs) == 0 {
			return
		}
		for i, b := range msgs {
			c.send(sse.AppendEvent(nil, strconv.FormatUint(first+uint64(i), 10), "", b))
		}
		ss.sent = first + uint64(len(msgs)) - 1
	}
}

// detach forgets c when its connection is gone.
func (ss *session) detach(c *consumer) {
	ss.mu.Lock()
	if ss.consumer == c {
		ss.consumer = nil
	}
	ss.mu.Unlock()
	ss.touch()
}

// consumer is the protocol of a stream's connection.
type consumer struct {
	ss        *session
	s         *core.Session
	heartbeat int64
	lastSend  atomic.Int64
}

type consumerAdapter struct{ c *consumer }

func (consumerAdapter) Protocols() []string { return nil }

func (a consumerAdapter) Open(s *core.Session) core.Protocol {
	a.c.s = s
	a.c.lastSend.Store(time.Now().Unix())
	return a.c
}

// OnMessage discards input: the client posts its messages.
func (c *consumer) OnMessage(byte, []byte) error { return nil }

func (c *consumer) OnClose() { c.ss.detach(c) }

// Tick sends a heart-beat comment when the stream has been quiet.
func (c *consumer) Tick(now time.Time) {
	if now.Unix()-c.lastSend.Load() >= c.heartbeat {
		c.send(sse.Heartbeat)
	}
}

func (c *consumer) send(b []byte) bool {
	c.lastSend.Store(time.Now().Unix())
	return c.s.Send(outq.Item{Own: b})
}

// release ends a stream that a newer poll or stream replaced.
func (c *consumer) release() { c.s.CloseAfter(nil) }

// end tells the client that the session is over, then closes.
func (c *consumer) end(code uint16, reason string) {
	c.send(sse.AppendEvent(nil, "", "close", []byte(closeJSON(code, reason))))
	c.s.CloseAfter(nil)
}
