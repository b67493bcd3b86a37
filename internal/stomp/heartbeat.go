package stomp

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/wsframe"
)

// tickEvery is how often the core's sweeper calls Tick.
const tickEvery = time.Second

// heartbeat tracks both directions of heart-beating. Senders and the
// loop only set flags; Tick, alone on the sweeper's goroutine, turns them
// into times, so the hot paths cost one atomic load.
type heartbeat struct {
	send  atomic.Int64 // ms we promised between frames; 0: none
	recv  atomic.Int64 // ms the client promised; 0: none
	sent  atomic.Bool  // we queued something since the last tick
	heard atomic.Bool  // the client sent something since the last tick

	// Tick's own.
	lastTick  time.Time
	lastSent  time.Time // conservatively early: the tick before a send was seen
	lastHeard time.Time // conservatively late: the tick a read was seen at
}

func (h *heartbeat) markSent() {
	if !h.sent.Load() {
		h.sent.Store(true)
	}
}

var (
	beatTCP = []byte("\n")
	beatWS  = wsframe.AppendFrame(nil, wsframe.OpText, []byte("\n"))
)

// Tick implements core.Ticker: it ends a session that never sent
// CONNECT, sends a heart-beat when the next tick would be too late for
// the interval promised, and ends a client silent for 1.5 times its own.
func (c *conn) Tick(now time.Time) {
	h := &c.hb
	prev := h.lastTick
	h.lastTick = now
	if !c.connected.Load() {
		// A CONNECT that arrived may still be in the connect hook.
		if !c.gotConnect.Load() && now.Sub(c.born) > c.a.cfg.ConnectTimeout && c.s.Open() {
			c.fail(nil, &stompError{msg: fmt.Sprintf("no CONNECT frame within %v", c.a.cfg.ConnectTimeout),
				code: core.ClosePolicyViolation, reason: "heartbeat"})
		}
		return
	}
	if prev.IsZero() {
		prev = now
	}
	if send := time.Duration(h.send.Load()) * time.Millisecond; send > 0 {
		if h.sent.Swap(false) || h.lastSent.IsZero() {
			h.lastSent = prev
		}
		if now.Add(tickEvery).Sub(h.lastSent) > send {
			beat := beatTCP
			if c.ws {
				beat = beatWS
			}
			if c.s.Send(outq.Item{Own: beat}) {
				h.lastSent = now
			}
		}
	}
	if recv := time.Duration(h.recv.Load()) * time.Millisecond; recv > 0 {
		// While reads are paused the client's heart-beats wait unread.
		if h.heard.Swap(false) || c.paused.Load() || h.lastHeard.IsZero() {
			h.lastHeard = now
		}
		if silent := now.Sub(h.lastHeard); silent > recv*3/2 && c.s.Open() {
			c.fail(nil, &stompError{
				msg:  fmt.Sprintf("heart-beat timeout: nothing received for %v, heart-beats were agreed every %v", silent.Round(time.Second), recv),
				code: core.CloseGoingAway, reason: "heartbeat",
			})
		}
	}
}
