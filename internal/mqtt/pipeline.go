package mqtt

import (
	"context"
	"strings"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/ackgate"
	"github.com/heraldhq/herald/internal/core"
)

// pipeWindow bounds the publishes one connection has waiting for the
// cluster's stream (ADR 0018). Past it the worker waits for the oldest,
// as it waits for every publish without pipelining: a fast publisher
// gets backpressure, not unbounded memory.
const pipeWindow = 256

// pipelined reports whether pk is published without the worker waiting
// for the cluster's stream: on a cluster node (DeliversLater), QoS 0 and
// 1 publications to ordinary topics. QoS 2 (its identifier is recorded
// with the publish), retained messages (the retained store follows the
// stream's order under a lock), $-topics and request topics keep the
// synchronous path.
func (c *conn) pipelined(pk *packets.Packet) bool {
	if !c.a.opts.DeliversLater || pk.FixedHeader.Qos > 1 || pk.FixedHeader.Retain {
		return false
	}
	name := pk.TopicName
	if strings.HasPrefix(name, "$") {
		return false
	}
	pre := c.a.opts.RPCPrefix
	return pre == "" || !strings.HasPrefix(name, pre)
}

// publishAsync publishes pk without waiting for the stream. It is
// authorized first, as publish does. A QoS 1 PUBACK takes its place in
// the connection's reply order now (ackgate.Slot) and is filled in when
// the stream has stored the message, so acknowledgements leave in the
// order of the PUBLISHes [MQTT-4.6.0-2] while the next ones are already
// on their way. Publishes of one connection to one topic join the
// topic's queue in the order they arrive, so the stream keeps it.
func (c *conn) publishAsync(pk *packets.Packet) {
	m, md := c.messageOf(pk)
	qos, pid, ver := md.qos, pk.PacketID, c.ver
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.s.Context()), c.s.Core().Config().RequestTimeout)
	defer cancel()
	if err := c.s.Core().Authorize(ctx, &c.s.Scope, core.ActionPublish, m.Topic); err != nil {
		if qos == 1 {
			code := byte(codeNotAuthorized)
			if ver != 5 {
				code = codeSuccess // 3.1.1: acknowledged and dropped [MQTT-3.3.5-2]
			}
			c.send(ackPacket(ver, packets.Puback, pid, code))
		}
		return
	}
	m.Publisher = c.s.Scope.SessionID
	setMeta(m, md)
	var slot *ackgate.Slot
	if qos == 1 {
		slot = c.gate.Reserve(c.queue, c.storeFailed)
	}
	c.pipe.Begin()
	topicName := m.Topic
	// ctx serves only a synchronous fallback (the stream not ready yet),
	// which calls done before PublishAsync returns.
	c.s.Core().PublishAsync(ctx, m, func(err error) {
		defer c.pipe.End()
		code := byte(codeSuccess)
		if err != nil {
			c.s.Core().Logger().Warn("mqtt: publish failed", "topic", topicName, "qos", qos, "session", c.s.Scope.SessionID, "err", err)
			if ver == 5 {
				code = codeUnspecified
			}
		}
		if slot == nil {
			return
		}
		ack := c.frame(ackPacket(ver, packets.Puback, pid, code))
		// As on the synchronous path with a data dir, the PUBACK also
		// waits until what the store was given meanwhile (this node's
		// subscribers' copies) is durable.
		if kv := c.a.opts.Store; kv != nil && err == nil {
			kv.Barrier(func(berr error) { slot.Fill(ack, berr) })
			return
		}
		slot.Fill(ack, nil)
	})
}

// storeFailed ends the connection unacknowledged after a store failure.
func (c *conn) storeFailed(err error) {
	c.s.Core().Logger().Error("mqtt: store failed, closing the connection unacknowledged", "session", c.s.Scope.SessionID, "err", err)
	c.refused.Store(true)
	c.disconnect(codeUnspecified, "store failed")
}
