package native

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/wsframe"
)

// Subprotocol is the WebSocket subprotocol of the native protocol.
const Subprotocol = "herald.v1"

// RPC is the JSON-RPC 2.0 adapter.
type RPC struct{}

// Protocols implements core.Adapter.
func (RPC) Protocols() []string { return []string{Subprotocol} }

// Open implements core.Adapter.
func (RPC) Open(s *core.Session) core.Protocol { return &rpcConn{s: s} }

type rpcConn struct{ s *core.Session }

type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  *string         `json:"method"`
	Params  json.RawMessage `json:"params"`
}

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *core.RPCError  `json:"error,omitempty"`
}

var null = json.RawMessage("null")

func (c *rpcConn) OnMessage(op byte, data []byte) error {
	msg := bytes.Clone(data)
	start := time.Now()
	if !c.s.Mailbox().Push(func() { c.handle(msg, start) }) {
		// Too much in flight: refuse without running anything, so the
		// client can tell exactly which requests to retry.
		c.refuse(msg)
	}
	return nil
}

func (c *rpcConn) OnClose() {}

func (c *rpcConn) handle(msg []byte, start time.Time) {
	defer c.s.Core().Requests(Subprotocol).ObserveDuration(start)
	reqs, batch, fail := decodeMessage(msg)
	if fail != nil {
		c.send(fail)
		return
	}
	if !batch {
		if r := c.call(reqs[0]); r != nil {
			c.send(r)
		}
		return
	}
	out := make([]*response, 0, len(reqs))
	for _, raw := range reqs {
		if r := c.call(raw); r != nil {
			out = append(out, r)
		}
	}
	if len(out) > 0 {
		c.sendJSON(out)
	}
}

// call runs one request and returns its response (nil for a notification).
func (c *rpcConn) call(raw json.RawMessage) *response {
	req, fail, skip := decodeRequest(raw)
	if fail != nil || skip {
		return fail
	}
	result, err := c.dispatch(*req.Method, req.Params)
	if req.ID == nil {
		return nil // a notification gets no response, even on error
	}
	if err != nil {
		return &response{ID: req.ID, Error: c.toRPCError(*req.Method, err)}
	}
	b, merr := json.Marshal(result)
	if merr != nil {
		c.s.Core().Logger().Error("result not encodable as JSON", "method", *req.Method, "err", merr)
		return &response{ID: req.ID, Error: &core.RPCError{Code: CodeInternalError, Message: "internal error"}}
	}
	return &response{ID: req.ID, Result: b}
}

func validID(id json.RawMessage) bool {
	switch id[0] {
	case '"', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

func (c *rpcConn) dispatch(method string, params json.RawMessage) (any, error) {
	switch method {
	case "subscribe":
		return c.subscribe(params)
	case "unsubscribe":
		return c.unsubscribe(params)
	case "publish":
		return c.publish(params)
	case "refresh":
		return c.refresh(params)
	}
	call := c.s.Core().Config().Hooks.Call
	if call == nil {
		return nil, core.ErrNoMethod
	}
	ctx, cancel := context.WithTimeout(c.s.Context(), c.s.Core().Config().RequestTimeout)
	defer cancel()
	return call(ctx, method, params)
}

func (c *rpcConn) toRPCError(method string, err error) *core.RPCError {
	var re *core.RPCError
	switch {
	case errors.As(err, &re):
		return re
	case errors.Is(err, core.ErrNoMethod):
		return &core.RPCError{Code: CodeMethodNotFound, Message: "method not found: " + method}
	case errors.Is(err, core.ErrUnauthorized):
		return &core.RPCError{Code: CodeUnauthorized, Message: err.Error()}
	case errors.Is(err, core.ErrForbidden):
		return &core.RPCError{Code: CodeForbidden, Message: err.Error()}
	case errors.Is(err, core.ErrTooManySubscriptions):
		return &core.RPCError{Code: CodeLimit, Message: err.Error()}
	case errors.Is(err, errInvalidParams):
		return &core.RPCError{Code: CodeInvalidParams, Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return &core.RPCError{Code: CodeTimeout, Message: "request timed out"}
	}
	c.s.Core().Logger().Error("request handler failed", "method", method, "session", c.s.Scope.SessionID, "err", err)
	return &core.RPCError{Code: CodeInternalError, Message: "internal error"}
}

// refuse answers every request in msg with CodeOverloaded.
func (c *rpcConn) refuse(msg []byte) {
	var reqs []request
	if err := json.Unmarshal(msg, &reqs); err != nil {
		var one request
		if json.Unmarshal(msg, &one) != nil {
			return
		}
		reqs = []request{one}
	}
	for _, r := range reqs {
		if r.ID != nil && validID(r.ID) {
			c.send(&response{ID: r.ID, Error: &core.RPCError{Code: CodeOverloaded, Message: "too many requests in flight"}})
		}
	}
}

func (c *rpcConn) send(r *response) { c.sendJSON(r) }

func (c *rpcConn) sendJSON(v any) {
	if r, ok := v.(*response); ok {
		r.JSONRPC = "2.0"
	}
	if rs, ok := v.([]*response); ok {
		for _, r := range rs {
			r.JSONRPC = "2.0"
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	c.s.Reply(outq.Item{Own: c.s.AppendFrame(nil, wsframe.OpText, b)})
}
