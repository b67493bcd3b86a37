package mqtt

import (
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/wsframe"
)

// frame wraps b for the transport.
func (c *conn) frame(b []byte) []byte {
	if c.s.WebSocket() {
		return wsframe.AppendFrame(make([]byte, 0, wsframe.HeaderLen(len(b))+len(b)), wsframe.OpBinary, b)
	}
	return b
}

func (c *conn) queue(b []byte) bool { return c.s.Send(outq.Item{Own: b}) }

// send queues a control packet, behind any that wait for the store
// (ackgate).
func (c *conn) send(b []byte) bool { return c.gate.Send(c.frame(b), c.queue) }

// sendDurable queues a control packet to go out once everything given to
// the store so far is durable, keeping the order of acknowledgements
// [MQTT-4.6.0-2]; without a store it is send. If the store fails, the
// connection ends unacknowledged: the client sends again after
// reconnecting.
func (c *conn) sendDurable(b []byte) {
	kv := c.a.opts.Store
	if kv == nil {
		c.send(b)
		return
	}
	c.gate.SendDurable(kv, c.frame(b), c.queue, c.storeFailed)
}
