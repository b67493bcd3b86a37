package stomp

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/native"
)

// call runs a request to the application's handler for method. The body
// is the params: as it is when it is JSON, as a JSON string otherwise.
// The answer is a MESSAGE to the reply-to destination, with the request's
// correlation-id: the result (a JSON string's text as text/plain, any
// other value as application/json), or an error, marked by the headers
// error:true and error-code:<JSON-RPC code>, whose body is its message.
// Without reply-to the request is a notification: its result is dropped.
func (c *conn) call(f *Frame, method string) *stompError {
	replyTo, hasReply := f.Get("reply-to")
	var rd dest
	if hasReply {
		var err error
		if rd, err = parseDest(replyTo, "", false); err != nil {
			return protoErr("invalid reply-to %q: %v", clip(replyTo), err)
		}
	}
	s := c.s
	start := time.Now()
	result, err := c.invoke(method, params(f.Body))
	s.Core().Requests("stomp").ObserveDuration(start)
	if !hasReply {
		return nil
	}
	m := &message.Message{}
	if corr, ok := f.Get("correlation-id"); ok {
		m.Headers = append(m.Headers, message.Header{Key: "correlation-id", Value: corr})
	}
	if err != nil {
		re := c.rpcError(method, err)
		m.Headers = append(m.Headers,
			message.Header{Key: "error", Value: "true"},
			message.Header{Key: "error-code", Value: strconv.Itoa(re.Code)})
		m.ContentType, m.Data = "text/plain; charset=utf-8", []byte(re.Message)
	} else if err := setResult(m, result); err != nil {
		s.Core().Logger().Error("result not encodable as JSON", "method", method, "err", err)
		m.Headers = append(m.Headers,
			message.Header{Key: "error", Value: "true"},
			message.Header{Key: "error-code", Value: strconv.Itoa(native.CodeInternalError)})
		m.ContentType, m.Data = "text/plain; charset=utf-8", []byte("internal error")
	}
	return c.deliverTo(rd, replyTo, m)
}

func (c *conn) invoke(method string, params json.RawMessage) (any, error) {
	cfg := c.s.Core().Config()
	if cfg.Hooks.Call == nil {
		return nil, core.ErrNoMethod
	}
	ctx, cancel := context.WithTimeout(c.s.Context(), cfg.RequestTimeout)
	defer cancel()
	return cfg.Hooks.Call(ctx, method, params)
}

// params maps a request body to JSON params: JSON stays JSON, anything
// else travels as a JSON string, nothing is no params.
func params(body []byte) json.RawMessage {
	switch {
	case len(body) == 0:
		return nil
	case json.Valid(body):
		return json.RawMessage(body)
	}
	s := string(body)
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // invalid bytes become U+FFFD, as JSON would have them
	}
	b, _ := json.Marshal(s)
	return b
}

// setResult encodes a handler's result as the payload mapping of ADR 0005
// does: a string is its text, anything else JSON.
func setResult(m *message.Message, result any) error {
	b, err := json.Marshal(result)
	if err != nil {
		return err
	}
	var s string
	if len(b) > 0 && b[0] == '"' && json.Unmarshal(b, &s) == nil {
		m.ContentType, m.Data = "text/plain; charset=utf-8", []byte(s)
		return nil
	}
	m.ContentType, m.Data = "application/json", b
	return nil
}

// rpcError is the code and message a client sees for err, as the native
// protocol reports them.
func (c *conn) rpcError(method string, err error) *core.RPCError {
	var re *core.RPCError
	switch {
	case errors.As(err, &re):
		return re
	case errors.Is(err, core.ErrNoMethod):
		return &core.RPCError{Code: native.CodeMethodNotFound, Message: "method not found: " + method}
	case errors.Is(err, core.ErrUnauthorized):
		return &core.RPCError{Code: native.CodeUnauthorized, Message: err.Error()}
	case errors.Is(err, core.ErrForbidden):
		return &core.RPCError{Code: native.CodeForbidden, Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return &core.RPCError{Code: native.CodeTimeout, Message: "request timed out"}
	}
	c.s.Core().Logger().Error("request handler failed", "method", method, "session", c.s.Scope.SessionID, "err", err)
	return &core.RPCError{Code: native.CodeInternalError, Message: "internal error"}
}
