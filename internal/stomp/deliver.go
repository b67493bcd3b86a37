package stomp

import (
	"strconv"
	"sync/atomic"
	"unicode/utf8"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/queue"
	"github.com/heraldhq/herald/internal/wsframe"
)

// A MESSAGE frame is sent in two parts. The shared part, identical for
// every subscriber of a message speaking one version, is encoded once
// per message and version (message.Encoded):
//
//	destination:/topic/a.b\ncontent-type:...\ncontent-length:N\n<carried headers>\n\n<body>\x00
//
// with one leading byte, not sent, saying whether the frame can go as a
// WebSocket text message. The own part is per subscriber and short:
//
//	[WebSocket header]MESSAGE\nsubscription:<id>\nmessage-id:<id>\n[ack:<id>\n][redelivered:true\n]

// sharedEncodes counts shared parts encoded, for the encode-once test.
var sharedEncodes atomic.Int64

// Message id prefixes: a topic message's id is the router's ID; queue
// entries and replies to temp-queues have their own numbering.
const (
	idQueue = 'q'
	idReply = 'r'
)

// reserved are headers a MESSAGE sets itself: carried headers of these
// names are left out.
var reserved = map[string]bool{
	"destination": true, "message-id": true, "subscription": true, "ack": true,
	"content-type": true, "content-length": true, "redelivered": true,
}

func encodeShared(m *message.Message, v Version, dest string) []byte {
	sharedEncodes.Add(1)
	esc := escapingFor(v, cmdMessage)
	b := make([]byte, 1, 64+len(dest)+len(m.ContentType)+len(m.Data))
	b = appendHeader(b, esc, "destination", dest)
	if m.ContentType != "" {
		b = appendHeader(b, esc, "content-type", m.ContentType)
	}
	b = appendIntHeader(b, "content-length", len(m.Data))
	for _, h := range m.Headers {
		if !reserved[h.Key] {
			b = appendHeader(b, esc, h.Key, h.Value)
		}
	}
	b = append(b, '\n')
	b = append(b, m.Data...)
	b = append(b, 0)
	b[0] = wsframe.OpText
	if !utf8.Valid(b[1:]) {
		b[0] = wsframe.OpBinary
	}
	return b
}

func topicShared10(m *message.Message) []byte { return encodeShared(m, V10, TopicToSTOMP(m.Topic)) }
func topicShared11(m *message.Message) []byte { return encodeShared(m, V11, TopicToSTOMP(m.Topic)) }
func topicShared12(m *message.Message) []byte { return encodeShared(m, V12, TopicToSTOMP(m.Topic)) }
func queueShared10(m *message.Message) []byte { return encodeShared(m, V10, queuePrefix+m.Topic) }
func queueShared11(m *message.Message) []byte { return encodeShared(m, V11, queuePrefix+m.Topic) }
func queueShared12(m *message.Message) []byte { return encodeShared(m, V12, queuePrefix+m.Topic) }

// shared returns m's shared part for the session's version: from the
// message's cache for topics and queues, freshly for a temp-queue reply,
// which has one reader.
func (sub *subscription) shared(m *message.Message) []byte {
	v := sub.c.v()
	switch sub.kind {
	case destTopic:
		switch v {
		case V10:
			return m.Encoded("stomp/1.0", topicShared10)
		case V11:
			return m.Encoded("stomp/1.1", topicShared11)
		}
		return m.Encoded("stomp/1.2", topicShared12)
	case destQueue:
		switch v {
		case V10:
			return m.Encoded("stomp/1.0/queue", queueShared10)
		case V11:
			return m.Encoded("stomp/1.1/queue", queueShared11)
		}
		return m.Encoded("stomp/1.2/queue", queueShared12)
	}
	return encodeShared(m, v, tempQueuePrefix+m.Topic)
}

// Deliver implements router.Subscriber for topic subscriptions. It runs
// under the router's locks: it queues and returns.
func (sub *subscription) Deliver(m *message.Message) {
	if sub.deliver(m, 0, m.ID, nil) {
		sub.c.s.Core().Delivered(1)
	}
}

// Take implements queue.Consumer. It runs under the queue's lock.
func (sub *subscription) Take(e *queue.Entry) bool {
	if !sub.deliver(e.Msg, idQueue, e.ID, e) {
		return false
	}
	sub.c.s.Core().Delivered(1)
	return true
}

// deliver queues one MESSAGE. It reports false when the session cannot
// take it (closing, or the subscription ended).
func (sub *subscription) deliver(m *message.Message, idKind byte, id uint64, e *queue.Entry) bool {
	c := sub.c
	if !c.s.Open() {
		return false
	}
	enc := sub.shared(m)
	op, shared := enc[0], enc[1:]

	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.stopped {
		return false
	}
	acked := sub.mode != ackAuto
	if acked && len(sub.pending) >= sub.credit {
		// Topics and temp-queues get here (a queue stops at the
		// credit): a client that does not acknowledge is a slow consumer.
		sub.overflow()
		return false
	}
	sub.seq++
	var tmp [160]byte
	b := append(tmp[:0], sub.prefix...)
	b = append(b, "message-id:"...)
	if idKind != 0 {
		b = append(b, idKind)
	}
	b = strconv.AppendUint(b, id, 10)
	b = append(b, '\n')
	if acked && c.v() >= V12 {
		b = append(b, "ack:"...)
		b = appendAckID(b, sub.index, sub.seq)
		b = append(b, '\n')
	}
	if e != nil && e.Redelivered {
		b = append(b, "redelivered:true\n"...)
	}
	var own []byte
	if c.ws {
		own = make([]byte, 0, wsframe.HeaderLen(len(b)+len(shared))+len(b))
		own = wsframe.AppendHeader(own, op, true, false, len(b)+len(shared))
		own = append(own, b...)
	} else {
		own = append(make([]byte, 0, len(b)), b...)
	}
	// Acknowledged messages are never dropped by a slow-consumer policy:
	// the client could not acknowledge what it never received.
	if !c.s.Send(outq.Item{Own: own, Shared: shared, Key: m.Topic, Droppable: !acked && sub.kind == destTopic}) {
		return false
	}
	if acked {
		sub.pending = append(sub.pending, pending{seq: sub.seq, id: id, entry: e})
	}
	c.hb.markSent()
	return true
}

// overflow applies the slow-consumer policy to a subscription whose
// client holds its whole credit unacknowledged: disconnect it, or drop
// the message.
func (sub *subscription) overflow() {
	c := sub.c
	if c.s.Core().Config().Queue.Policy != outq.Disconnect {
		return
	}
	c.fail(nil, &stompError{
		msg:  "slow consumer: " + strconv.Itoa(sub.credit) + " messages unacknowledged on subscription " + clip(sub.id),
		code: core.ClosePolicyViolation, reason: "limit",
	})
}

func appendAckID(b []byte, index, seq uint64) []byte {
	b = strconv.AppendUint(b, index, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, seq, 10)
}

// deliverTemp hands a reply to this session's subscriptions to the
// temp-queue m.Topic. Nobody listening: the reply is dropped.
func (c *conn) deliverTemp(m *message.Message) {
	id := c.msgID.Add(1)
	c.mu.Lock()
	var subs []*subscription
	for _, sub := range c.subs {
		if sub.kind == destTempQueue && sub.name == m.Topic {
			subs = append(subs, sub)
		}
	}
	c.mu.Unlock()
	if len(subs) == 0 {
		c.s.Core().Logger().Debug("stomp: reply to a temp-queue nobody subscribed to", "session", c.s.Scope.SessionID, "temp-queue", m.Topic)
	}
	for _, sub := range subs {
		sub.deliver(m, idReply, id, nil)
	}
}
