package stomp

import (
	"errors"
	"fmt"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/queue"
	"github.com/heraldhq/herald/internal/router"
	"github.com/heraldhq/herald/internal/topic"
)

// notCarried are SEND headers that describe the frame, not the message:
// they are not passed on to subscribers (content-type travels as the
// message's content type; the rest MESSAGE sets itself).
var notCarried = map[string]bool{
	"destination": true, "content-type": true, "content-length": true, "receipt": true,
	"transaction": true, "message-id": true, "subscription": true, "ack": true, "redelivered": true,
}

// onSend handles a SEND: at once, or at COMMIT inside a transaction. A
// SEND to a topic on a cluster node is pipelined (sendTopic): async says
// its RECEIPT, if any, is already taken care of.
func (c *conn) onSend(f *Frame) (async bool, _ *stompError) {
	d, ok := f.Get("destination")
	if !ok {
		return false, missing(f, "destination")
	}
	dst, err := parseDest(d, c.a.cfg.RPCPrefix, false)
	if err != nil {
		return false, badDest(d, err)
	}
	if tx, ok := f.Get("transaction"); ok {
		return false, c.buffer(f, tx, dst)
	}
	if dst.kind == destTopic && c.s.Core().PublishesLater() {
		return c.sendTopic(f, dst)
	}
	return false, c.send(f, dst)
}

func badDest(d string, err error) *stompError {
	return &stompError{msg: fmt.Sprintf("invalid destination %q: %v", clip(d), err), code: core.CloseProtocolError, reason: "protocol",
		detail: fmt.Sprintf("invalid destination %q: %v\n\nDestinations are /topic/<name> (levels separated by '.'), /queue/<name>, /temp-queue/<name>, or a request to the RPC prefix.", d, err)}
}

// send delivers a SEND to its destination.
func (c *conn) send(f *Frame, dst dest) *stompError {
	if dst.kind == destRPC {
		return c.call(f, dst.name)
	}
	m := messageOf(f)
	return c.deliverTo(dst, f.Value("destination"), m)
}

// messageOf makes a message of a SEND frame's body and headers.
func messageOf(f *Frame) *message.Message {
	m := &message.Message{Data: f.Body, ContentType: f.Value("content-type")}
	if m.Data == nil {
		m.Data = []byte{}
	}
	seen := make(map[string]bool, len(f.Headers))
	for _, h := range f.Headers {
		if notCarried[h.Key] || seen[h.Key] {
			continue // repeated headers: the first one counts
		}
		seen[h.Key] = true
		m.Headers = append(m.Headers, message.Header{Key: h.Key, Value: h.Value})
	}
	return m
}

// deliverTo sends m to a topic, a queue or one of this session's
// temp-queues.
func (c *conn) deliverTo(dst dest, raw string, m *message.Message) *stompError {
	ctx := c.s.Context()
	switch dst.kind {
	case destTopic:
		m.Topic = dst.name
		if err := c.s.Core().Publish(ctx, c.s, m); err != nil {
			return c.refused("send to", raw, err)
		}
	case destQueue:
		if err := c.s.Core().Authorize(ctx, &c.s.Scope, core.ActionPublish, queuePrefix+dst.name); err != nil {
			return c.refused("send to", raw, err)
		}
		m.Topic = dst.name // a queue message's Topic is its queue's name
		m.Publisher = c.s.Scope.SessionID
		if err := c.a.cfg.Queues.SendContext(ctx, dst.name, m); err != nil {
			return c.refused("send to", raw, err)
		}
	case destTempQueue:
		m.Topic = dst.name
		c.deliverTemp(m)
	}
	return nil
}

// refused turns a refusal by the application or a limit into an ERROR.
func (c *conn) refused(what, d string, err error) *stompError {
	e := &stompError{msg: fmt.Sprintf("cannot %s %s: %v", what, clip(d), err), code: core.ClosePolicyViolation, reason: "denied"}
	switch {
	case errors.Is(err, core.ErrForbidden), errors.Is(err, core.ErrUnauthorized):
		e.msg = fmt.Sprintf("not allowed to %s %s", what, clip(d))
		e.detail = e.msg + ": " + err.Error()
	case errors.Is(err, queue.ErrFull), errors.Is(err, queue.ErrTooMany), errors.Is(err, queue.ErrTooManyBytes):
		e.reason, e.code = "limit", core.CloseTryAgainLater
	case errors.Is(err, router.ErrClosed), errors.Is(err, core.ErrClosed):
		e.msg, e.code, e.reason = "server shutting down", core.CloseGoingAway, "protocol"
	case errors.Is(err, topic.ErrInvalidName), errors.Is(err, topic.ErrInvalidFilter):
		e.code, e.reason = core.CloseProtocolError, "protocol"
	default:
		if !isAppError(err) {
			c.s.Core().Logger().Error("stomp: "+what+" failed", "destination", d, "session", c.s.Scope.SessionID, "err", err)
			e.msg = fmt.Sprintf("cannot %s %s: internal error", what, clip(d))
		}
	}
	return e
}

// isAppError reports whether err is one an application hook chose to
// show (an authorization refusal of its own making).
func isAppError(err error) bool {
	var re *core.RPCError
	return errors.As(err, &re)
}
