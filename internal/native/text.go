package native

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/wsframe"
)

// Text is the protocol of a connection that offers no subprotocol: each
// text message is a request to the text handler, whose reply comes back as
// text (reference 000's status/on/off).
type Text struct{}

func (Text) Protocols() []string                { return []string{""} }
func (Text) Open(s *core.Session) core.Protocol { return &textConn{s: s} }

type textConn struct{ s *core.Session }

func (c *textConn) OnMessage(op byte, data []byte) error {
	if op != wsframe.OpText {
		return &core.CloseError{Code: core.CloseUnsupportedData, Reason: "the text protocol takes text messages only"}
	}
	msg := string(data)
	start := time.Now()
	if !c.s.Mailbox().Push(func() { c.handle(msg, start) }) {
		return &core.CloseError{Code: core.CloseTryAgainLater, Reason: "too many requests in flight"}
	}
	return nil
}

func (c *textConn) handle(msg string, start time.Time) {
	defer c.s.Core().Requests("text").ObserveDuration(start)
	h := c.s.Core().Config().Hooks.Text
	reply := "ERROR: this server has no text handler"
	if h != nil {
		// Hooks.Text reports a missing handler as an *RPCError.
		ctx, cancel := context.WithTimeout(c.s.Context(), c.s.Core().Config().RequestTimeout)
		r, err := h(ctx, msg)
		cancel()
		reply = r
		var re *core.RPCError
		switch {
		case errors.As(err, &re):
			reply = "ERROR: " + re.Message
		case err != nil:
			// Like JSON-RPC: internals are logged, not sent.
			c.s.Core().Logger().Error("text handler failed", "session", c.s.Scope.SessionID, "err", err)
			reply = "ERROR: internal error"
		}
	}
	c.s.Send(outq.Item{Own: c.s.AppendFrame(nil, wsframe.OpText, []byte(reply))})
}

func (c *textConn) OnClose() {}

// Chat is reference 001's chat room: every text message is broadcast to
// every member. The room is a topic, so Go code and other protocols can
// post to it and listen to it too.
type Chat struct {
	Topic string // default "chat"
}

func (Chat) Protocols() []string { return []string{"chat"} }

func (a Chat) Open(s *core.Session) core.Protocol {
	t := a.Topic
	if t == "" {
		t = "chat"
	}
	c := &chatConn{s: s, topic: t}
	// Joining happens off the I/O loop, like any hook call.
	if !s.Mailbox().Push(func() {
		if err := s.Subscribe(s.Context(), t, nil, nil); err != nil {
			s.CloseWith(core.ClosePolicyViolation, "not allowed to join the room")
		}
	}) {
		s.CloseWith(core.CloseTryAgainLater, "could not join the room")
	}
	return c
}

type chatConn struct {
	s     *core.Session
	topic string
}

func (c *chatConn) OnMessage(op byte, data []byte) error {
	if op != wsframe.OpText {
		return &core.CloseError{Code: core.CloseUnsupportedData, Reason: "chat takes text messages only"}
	}
	m := &message.Message{Topic: c.topic, Data: bytes.Clone(data), ContentType: "text/plain; charset=utf-8"}
	if !c.s.Mailbox().Push(func() {
		if err := c.s.Core().Publish(c.s.Context(), c.s, m); err != nil {
			c.s.CloseWith(core.ClosePolicyViolation, "not allowed to post to the room")
		}
	}) {
		return &core.CloseError{Code: core.CloseTryAgainLater, Reason: "too many messages in flight"}
	}
	return nil
}

func (c *chatConn) Deliver(m *message.Message) {
	if c.s.Send(outq.Item{Shared: m.Encoded("chat/ws", encodeChat), Key: m.Topic, Droppable: true}) {
		c.s.Core().Delivered(1)
	}
}

func encodeChat(m *message.Message) []byte {
	return wsframe.AppendFrame(make([]byte, 0, wsframe.HeaderLen(len(m.Data))+len(m.Data)), wsframe.OpText, m.Data)
}

func (c *chatConn) OnClose() {}
