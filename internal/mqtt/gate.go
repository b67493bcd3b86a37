package mqtt

import (
	"sync"

	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/wsframe"
)

// gate keeps a connection's control packets in order when some of them
// wait for the store: an acknowledgement of something persisted goes out
// only once the store says it is durable (sendDurable), and whatever the
// worker answers after it waits behind it. The worker goes on handling
// packets meanwhile, so a client that pipelines publications has them
// persisted together (group commit) and acknowledged in order
// [MQTT-4.6.0-2].
type gate struct {
	mu sync.Mutex
	q  []*gated // nil when nothing waits
}

type gated struct {
	b     []byte // framed packet
	close func() // instead of b: end the connection here
	ready bool
	err   error
}

// frame wraps b for the transport.
func (c *conn) frame(b []byte) []byte {
	if c.s.WebSocket() {
		return wsframe.AppendFrame(make([]byte, 0, wsframe.HeaderLen(len(b))+len(b)), wsframe.OpBinary, b)
	}
	return b
}

// send queues a control packet, behind any that wait for the store.
func (c *conn) send(b []byte) bool {
	b = c.frame(b)
	c.gate.mu.Lock()
	defer c.gate.mu.Unlock()
	if len(c.gate.q) > 0 {
		c.gate.q = append(c.gate.q, &gated{b: b, ready: true})
		return true
	}
	return c.s.Send(outq.Item{Own: b})
}

// sendDurable queues a control packet to go out once everything given to
// the store so far is durable; without a store it is send.
func (c *conn) sendDurable(b []byte) {
	kv := c.a.opts.Store
	if kv == nil {
		c.send(b)
		return
	}
	g := &gated{b: c.frame(b)}
	c.gate.mu.Lock()
	c.gate.q = append(c.gate.q, g)
	c.gate.mu.Unlock()
	kv.Barrier(func(err error) {
		c.gate.mu.Lock()
		g.ready, g.err = true, err
		c.flushLocked()
		c.gate.mu.Unlock()
	})
}

// deferClose reports whether packets wait for the store, and if so puts
// close behind them.
func (c *conn) deferClose(close func()) bool {
	c.gate.mu.Lock()
	defer c.gate.mu.Unlock()
	if len(c.gate.q) == 0 {
		return false
	}
	c.gate.q = append(c.gate.q, &gated{close: close, ready: true})
	return true
}

// flushLocked sends the ready packets at the head of the queue. A store
// failure ends the connection instead of acknowledging: the client sends
// again after reconnecting.
func (c *conn) flushLocked() {
	for len(c.gate.q) > 0 && c.gate.q[0].ready {
		g := c.gate.q[0]
		c.gate.q[0] = nil
		c.gate.q = c.gate.q[1:]
		switch {
		case g.err != nil:
			c.s.Core().Logger().Error("mqtt: store failed, closing the connection unacknowledged", "session", c.s.Scope.SessionID, "err", g.err)
			g.close = func() { c.failStore() }
			fallthrough
		case g.close != nil:
			c.gate.q = nil // nothing after the end is sent
			go g.close()
			return
		default:
			c.s.Send(outq.Item{Own: g.b})
		}
	}
	if len(c.gate.q) == 0 {
		c.gate.q = nil
	}
}

// failStore ends the connection after a store failure (5.0: DISCONNECT
// 0x80 unspecified error).
func (c *conn) failStore() {
	c.refused.Store(true)
	c.disconnect(codeUnspecified, "store failed")
}
