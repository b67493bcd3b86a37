package mqtt

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// onPublish handles a client's PUBLISH: QoS 0 is published; QoS 1 is
// published, then acknowledged (PUBACK); QoS 2 is published once, its
// packet identifier held until PUBREL so that a resent PUBLISH is not
// published again (exactly once), and acknowledged with PUBREC.
func (c *conn) onPublish(pk *packets.Packet) {
	c.a.received.Add(1)
	c.wrote = false
	ss := c.sess
	qos, pid := pk.FixedHeader.Qos, pk.PacketID
	p := &pk.Properties
	switch {
	case strings.ContainsAny(pk.TopicName, "+#"):
		c.fail(protocolError("wildcard in a topic name")) // [MQTT-3.3.2-2]
		return
	case pk.TopicName == "":
		c.fail(protocolError("PUBLISH without a topic")) // §3.3.2.3.4
		return
	case c.ver == 5 && len(p.SubscriptionIdentifier) > 0:
		c.fail(protocolError("a client PUBLISH cannot carry subscription identifiers")) // [MQTT-3.3.4-6]
		return
	case c.ver == 5 && p.ResponseTopic != "" && topic.ValidName(p.ResponseTopic) != nil:
		c.fail(protocolError("response topic is not a topic name")) // [MQTT-3.3.2-14]
		return
	}
	if qos == 2 {
		ss.mu.Lock()
		_, dup := ss.rx[pid]
		full := !dup && len(ss.rx) >= c.a.opts.ReceiveMaximum
		ss.mu.Unlock()
		if dup {
			c.sendDurable(ackPacket(c.ver, packets.Pubrec, pid, codeSuccess)) // already published
			return
		}
		if full {
			c.fail(&decodeError{code: codeReceiveMaxExceeded, reason: "more QoS 2 publications in flight than the receive maximum"}) // §3.2.2.3.3
			return
		}
	}
	code := byte(codeSuccess)
	if c.ver == 5 && p.PayloadFormatFlag && p.PayloadFormat == 1 && !utf8.Valid(pk.Payload) {
		code = codePayloadFormatInvalid // §3.3.2.3.2: the receiver may check
		if qos == 0 {
			c.fail(&decodeError{code: code, reason: "payload is not UTF-8 as its format says"})
			return
		}
	} else if c.pipelined(pk) {
		c.publishAsync(pk)
		return
	} else {
		code = c.publish(pk)
	}
	if c.ver != 5 {
		// 3.1.1 has no way to refuse a PUBLISH: it is acknowledged
		// normally and, if it was refused, dropped [MQTT-3.3.5-2].
		code = codeSuccess
	}
	ack := c.send
	if c.wrote {
		ack = func(b []byte) bool { c.sendDurable(b); return true }
	}
	switch qos {
	case 1:
		ack(ackPacket(c.ver, packets.Puback, pid, code))
	case 2:
		if code < 0x80 {
			ss.mu.Lock()
			if ss.rx == nil {
				ss.rx = make(map[uint16]struct{})
			}
			ss.rx[pid] = struct{}{}
			ss.mu.Unlock()
		}
		ack(ackPacket(c.ver, packets.Pubrec, pid, code))
	}
}

// publish publishes the application message of pk (or calls the request
// handler it addresses) and returns the 5.0 reason code.
func (c *conn) publish(pk *packets.Packet) byte {
	c.wrote = false
	name := pk.TopicName
	m, md := c.messageOf(pk)
	if isSys(name) {
		return codeNotAuthorized // $SYS is the server's
	}
	if pre := c.a.opts.RPCPrefix; pre != "" && strings.HasPrefix(name, pre) {
		return c.call(pk, strings.TrimPrefix(name, pre))
	}
	// Not cancelled when the connection ends: what the client sent before
	// it left is still published.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.s.Context()), c.s.Core().Config().RequestTimeout)
	defer cancel()
	if err := c.s.Core().Authorize(ctx, &c.s.Scope, core.ActionPublish, name); err != nil {
		return codeNotAuthorized
	}
	m.Publisher = c.s.Scope.SessionID
	setMeta(m, md)
	// On one node the router delivers in place: the message's queued
	// copies for this node's sessions and its QoS 2 identifier go into
	// one commit, so after a crash either it was published and the
	// client's resend is recognised, or neither. When the router delivers
	// later (DeliversLater: a cluster's stream), the copies are written
	// on the delivering goroutine and commit on their own; the section
	// then covers the identifier alone, not the wait for the stream,
	// which would hold every other session's commit behind it.
	// The acknowledgement waits for a commit only if something was
	// written meanwhile (by this publish or, conservatively, any other).
	before, counted := c.a.queuedWrites()
	var release func()
	if !c.a.opts.DeliversLater {
		release = c.a.atomic()
	}
	err := c.a.route(ctx, m, m.Retain)
	if err == nil && md.qos == 2 {
		if release == nil {
			release = c.a.atomic()
		}
		c.sess.mu.Lock()
		c.sess.rxLocked(pk.PacketID, true)
		c.sess.mu.Unlock()
	}
	if release != nil {
		release()
	}
	after, _ := c.a.queuedWrites()
	c.wrote = c.a.opts.Store != nil && (!counted || after != before)
	if err != nil {
		c.s.Core().Logger().Debug("mqtt: publish failed", "topic", name, "err", err)
		return codeUnspecified
	}
	return codeSuccess
}

// messageOf is the application message pk carries, not yet authorized
// or stamped.
func (c *conn) messageOf(pk *packets.Packet) (*message.Message, meta) {
	p := &pk.Properties
	m := &message.Message{Topic: pk.TopicName, Data: pk.Payload, Retain: pk.FixedHeader.Retain}
	md := meta{qos: pk.FixedHeader.Qos}
	if c.ver == 5 {
		m.ContentType = p.ContentType
		m.Headers = headersOf(p.User)
		md.expiry = p.MessageExpiryInterval
		md.fwd = forwardProps(p)
	}
	return m, md
}

// onPuback ends a QoS 1 delivery.
func (c *conn) onPuback(pk *packets.Packet) {
	ss := c.sess
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if i := ss.findPID(pk.PacketID); i >= 0 && ss.inflight.at(i).qos == 1 {
		ss.completeLocked(i)
	}
}

// onPubrec moves a QoS 2 delivery to its second half (PUBREL), or ends it
// on a failure reason code.
func (c *conn) onPubrec(pk *packets.Packet) {
	ss := c.sess
	ss.mu.Lock()
	defer ss.mu.Unlock()
	i := ss.findPID(pk.PacketID)
	if i < 0 || ss.inflight.at(i).qos != 2 {
		code := byte(codeSuccess)
		if c.ver == 5 {
			code = codePacketIDNotFound
		}
		c.send(ackPacket(c.ver, packets.Pubrel, pk.PacketID, code))
		return
	}
	if c.ver == 5 && pk.ReasonCode >= 0x80 {
		ss.completeLocked(i)
		return
	}
	e := ss.inflight.at(i)
	e.rel = true
	// The client has it: a cluster group need not redeliver it.
	ss.a.settle(e.m, true)
	e.m, e.ids = nil, nil // delivered: only the packet identifier is left to release
	ss.markLocked(e)
	// Released only once stored: a restart then resends PUBREL, never
	// the PUBLISH the client may already have handed on.
	if e.seq != 0 {
		c.sendDurable(ackPacket(c.ver, packets.Pubrel, e.pid, codeSuccess))
	} else {
		c.send(ackPacket(c.ver, packets.Pubrel, e.pid, codeSuccess))
	}
}

// onPubcomp ends a QoS 2 delivery.
func (c *conn) onPubcomp(pk *packets.Packet) {
	ss := c.sess
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if i := ss.findPID(pk.PacketID); i >= 0 && ss.inflight.at(i).rel {
		ss.completeLocked(i)
	}
}

// onPubrel releases an inbound QoS 2 packet identifier (PUBCOMP).
func (c *conn) onPubrel(pk *packets.Packet) {
	ss := c.sess
	ss.mu.Lock()
	_, ok := ss.rx[pk.PacketID]
	delete(ss.rx, pk.PacketID)
	stored := ok && ss.kvLocked() != nil
	if stored {
		ss.rxLocked(pk.PacketID, false)
	}
	if len(ss.rx) == 0 {
		ss.rx = nil
	}
	ss.mu.Unlock()
	code := byte(codeSuccess)
	if !ok && c.ver == 5 {
		code = codePacketIDNotFound
	}
	// Sent once the release is stored: the client reuses the identifier
	// after PUBCOMP, which a restarted server must not take for a resend.
	if stored {
		c.sendDurable(ackPacket(c.ver, packets.Pubcomp, pk.PacketID, code))
	} else {
		c.send(ackPacket(c.ver, packets.Pubcomp, pk.PacketID, code))
	}
}
