package stomp

import (
	"strconv"
	"strings"

	"github.com/heraldhq/herald/internal/queue"
)

// onAck handles ACK and NACK: at once, or at COMMIT inside a transaction
// (checked now, so that an unknown id is reported where it was sent).
func (c *conn) onAck(f *Frame, nack bool) *stompError {
	if tx, ok := f.Get("transaction"); ok {
		c.mu.Lock()
		sub, match, err := c.lookupAck(f)
		c.mu.Unlock()
		if err != nil {
			return err
		}
		if !sub.holds(match) {
			return unknownAck(f)
		}
		return c.buffer(f, tx, dest{})
	}
	return c.settle(f, nack, true)
}

// settle acknowledges (or refuses) the messages f names: in client mode
// the message and every one before it on the subscription, in
// client-individual mode that one. A queue takes back what was refused.
// strict reports an id that is not pending; at COMMIT it is not, as a
// later ACK may have covered it.
func (c *conn) settle(f *Frame, nack, strict bool) *stompError {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	sub, match, err := c.lookupAck(f)
	if err != nil {
		return err
	}
	entries, found := sub.take(match)
	if !found {
		if strict {
			return unknownAck(f)
		}
		return nil
	}
	if sub.q != nil && len(entries) > 0 {
		if nack {
			sub.q.Nack(sub, entries...)
		} else {
			sub.q.Ack(sub, entries...)
		}
	}
	return nil
}

// lookupAck finds the subscription an ACK or NACK is for and how to
// recognise the message in it: 1.2 names the delivery by the MESSAGE's
// ack header; 1.1 by message-id and subscription; 1.0 by message-id,
// with the subscription if the client gives it. Called with c.mu held.
func (c *conn) lookupAck(f *Frame) (*subscription, func(pending) bool, *stompError) {
	if c.v() >= V12 {
		id, ok := f.Get("id")
		if !ok {
			return nil, nil, missing(f, "id")
		}
		index, seq, ok := parseAckID(id)
		sub := c.byIndex[index]
		if !ok || sub == nil {
			return nil, nil, unknownAck(f)
		}
		return sub, func(p pending) bool { return p.seq == seq }, nil
	}
	mid, ok := f.Get("message-id")
	if !ok {
		return nil, nil, missing(f, "message-id")
	}
	kind, id, ok := parseMessageID(mid)
	if !ok {
		return nil, nil, unknownAck(f)
	}
	match := func(p pending) bool { return p.id == id }
	subID, ok := f.Get("subscription")
	if !ok && c.v() >= V11 {
		return nil, nil, missing(f, "subscription")
	}
	if ok {
		sub := c.subs[subID]
		if sub == nil || sub.idKind() != kind {
			return nil, nil, unknownAck(f)
		}
		return sub, match, nil
	}
	for _, sub := range c.subs {
		if sub.idKind() == kind && sub.holds(match) {
			return sub, match, nil
		}
	}
	return nil, nil, unknownAck(f)
}

func unknownAck(f *Frame) *stompError {
	id := f.Value("id")
	if id == "" {
		id = f.Value("message-id")
	}
	e := protoErr("%s of unknown id %q", f.Command, clip(id))
	e.detail = e.msg + ": no message with this id is waiting for acknowledgement on a client or client-individual subscription of this session (was it acknowledged already?)"
	return e
}

// idKind is the message id prefix of the subscription's messages.
func (sub *subscription) idKind() byte {
	switch sub.kind {
	case destQueue:
		return idQueue
	case destTempQueue:
		return idReply
	}
	return 0
}

func (sub *subscription) holds(match func(pending) bool) bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for _, p := range sub.pending {
		if match(p) {
			return true
		}
	}
	return false
}

// take removes the pending delivery match finds, with those before it in
// client mode, and returns their queue entries.
func (sub *subscription) take(match func(pending) bool) ([]*queue.Entry, bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	i := -1
	for j, p := range sub.pending {
		if match(p) {
			i = j
			break
		}
	}
	if i < 0 {
		return nil, false
	}
	from := i
	if sub.mode == ackClient {
		from = 0
	}
	var entries []*queue.Entry
	for _, p := range sub.pending[from : i+1] {
		if p.entry != nil {
			entries = append(entries, p.entry)
		}
	}
	sub.pending = append(sub.pending[:from], sub.pending[i+1:]...)
	if len(sub.pending) == 0 {
		sub.pending = nil
	}
	return entries, true
}

// parseAckID reads "<index>-<seq>".
func parseAckID(s string) (index, seq uint64, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	index, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return index, seq, err1 == nil && err2 == nil
}

// parseMessageID reads a message id: digits, after a kind prefix for
// queue messages and replies.
func parseMessageID(s string) (kind byte, id uint64, ok bool) {
	if s != "" && (s[0] == idQueue || s[0] == idReply) {
		kind, s = s[0], s[1:]
	}
	id, err := strconv.ParseUint(s, 10, 64)
	return kind, id, err == nil
}
