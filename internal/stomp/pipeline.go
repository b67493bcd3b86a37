package stomp

import (
	"errors"
	"sync/atomic"

	"github.com/heraldhq/herald/internal/ackgate"
	"github.com/heraldhq/herald/internal/core"
)

// pipeWindow bounds the SENDs one connection has waiting for a cluster's
// stream (ADR 0018); past it the connection's handler waits for the
// oldest, as it waited for every SEND before.
const pipeWindow = 256

// SEND outcomes as publishAsync's done sees them: the call has not
// returned yet (the worker then handles the outcome itself, as on a
// single node, where the publish is synchronous), or it has (done
// answers through the reserved slot).
const (
	pubCalling int32 = iota
	pubReturned
	pubInline
)

// sendTopic publishes a SEND to a topic, outside a transaction, without
// waiting for a cluster's stream to store it: the next frames are handled
// meanwhile. Its place in the reply order is reserved at once
// (ackgate.Slot) and filled when the stream answers: the RECEIPT (if
// asked), or the ERROR that ends the connection if the stream could not
// take it. So RECEIPTs and ERRORs keep frame order. When the publish is
// synchronous (one node, or the stream not ready), the outcome is handled
// here as before: a failure is returned, and the frames after it are not
// handled.
func (c *conn) sendTopic(f *Frame, dst dest) (async bool, _ *stompError) {
	raw := f.Value("destination")
	m := messageOf(f)
	m.Topic = dst.name
	ctx := c.s.Context()
	if err := c.s.Core().Authorize(ctx, &c.s.Scope, core.ActionPublish, m.Topic); err != nil {
		return false, c.refused("send to", raw, err)
	}
	m.Publisher = c.s.Scope.SessionID
	var receipt []byte
	if r, ok := f.Get("receipt"); ok {
		receipt = c.receiptFrame(r)
		if c.ws {
			receipt = c.wsFrame(receipt)
		}
	}
	if c.pipe == nil {
		c.pipe = ackgate.NewWindow(pipeWindow)
	}
	pipe := c.pipe
	slot := c.gate.Reserve(c.queue, func(err error) {
		var se *stompError
		if errors.As(err, &se) {
			c.fail(f, se)
			return
		}
		c.s.Core().Logger().Error("stomp: store failed, closing the connection without the receipt", "session", c.s.Scope.SessionID, "err", err)
		c.fail(nil, &stompError{msg: "store failed", code: core.CloseInternalError, reason: "store"})
	})
	var state atomic.Int32
	var inlineErr error
	pipe.Begin()
	c.s.Core().PublishAsync(ctx, m, func(err error) {
		defer pipe.End()
		inlineErr = err // read only if the CAS below wins
		if state.CompareAndSwap(pubCalling, pubInline) {
			return
		}
		if err != nil {
			slot.Fill(nil, c.refused("send to", raw, err))
			return
		}
		c.fillReceipt(slot, receipt)
	})
	if !state.CompareAndSwap(pubCalling, pubReturned) {
		// Answered before the call returned: as a synchronous SEND.
		if inlineErr != nil {
			slot.Fill(nil, nil)
			return false, c.refused("send to", raw, inlineErr)
		}
		c.fillReceipt(slot, receipt)
	}
	return true, nil
}

// fillReceipt gives a stored SEND's slot its RECEIPT (or nothing), once
// what the queues' store was given meanwhile is durable, as sendReceipt.
func (c *conn) fillReceipt(slot *ackgate.Slot, receipt []byte) {
	if kv := c.a.cfg.Queues.Store(); kv != nil && receipt != nil {
		kv.Barrier(func(err error) { slot.Fill(receipt, err) })
		return
	}
	slot.Fill(receipt, nil)
}
