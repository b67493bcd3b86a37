package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// JSON-RPC error codes the response carries (as ADR 0005).
const (
	rpcMethodNotFound = -32601
	rpcInternal       = -32603
	rpcUnauthorized   = -32001
	rpcForbidden      = -32003
	rpcTimeout        = -32008
)

// call is MQTT 5 request/response onto the application's request
// handlers: a PUBLISH to RPCPrefix+method calls the handler for method
// with the payload as params (the payload if it is JSON, else the payload
// as a JSON string). The result is published to the request's Response
// Topic with its Correlation Data: the result as JSON, or
// {"error":{"code","message"}} with a user property "error" holding the
// code. Without a Response Topic (any 3.1.1 request) the result is
// dropped.
func (c *conn) call(pk *packets.Packet, method string) byte {
	start := time.Now()
	defer c.s.Core().Requests("mqtt").ObserveDuration(start)
	cfg := c.s.Core().Config()
	reply := pk.Properties.ResponseTopic
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.s.Context()), cfg.RequestTimeout)
	defer cancel()
	if reply != "" {
		if topic.ValidName(reply) != nil || isSys(reply) {
			return codeTopicNameInvalid
		}
		if err := c.s.Core().Authorize(ctx, &c.s.Scope, core.ActionPublish, reply); err != nil {
			return codeNotAuthorized
		}
	}
	params := json.RawMessage(pk.Payload)
	if !json.Valid(params) {
		params, _ = json.Marshal(string(pk.Payload))
	}
	var result any
	err := core.ErrNoMethod
	if cfg.Hooks.Call != nil {
		result, err = cfg.Hooks.Call(ctx, method, params)
	}
	if reply == "" {
		return codeSuccess
	}
	m := &message.Message{Topic: reply, ContentType: "application/json"}
	if err == nil {
		if m.Data, err = json.Marshal(result); err != nil {
			c.s.Core().Logger().Error("result not encodable as JSON", "method", method, "err", err)
		}
	}
	if err != nil {
		re := c.rpcError(method, err)
		m.Data, _ = json.Marshal(map[string]any{"error": re})
		m.Headers = []message.Header{{Key: "error", Value: strconv.Itoa(re.Code)}}
	}
	md := meta{qos: pk.FixedHeader.Qos, fwd: encodeProps(packets.Publish, &packets.Properties{CorrelationData: pk.Properties.CorrelationData})}
	setMeta(m, md)
	m.Publisher = c.s.Scope.SessionID
	if err := c.a.route(ctx, m, false); err != nil {
		return codeUnspecified
	}
	return codeSuccess
}

func (c *conn) rpcError(method string, err error) *core.RPCError {
	var re *core.RPCError
	switch {
	case errors.As(err, &re):
		return re
	case errors.Is(err, core.ErrNoMethod):
		return &core.RPCError{Code: rpcMethodNotFound, Message: "method not found: " + method}
	case errors.Is(err, core.ErrUnauthorized):
		return &core.RPCError{Code: rpcUnauthorized, Message: err.Error()}
	case errors.Is(err, core.ErrForbidden):
		return &core.RPCError{Code: rpcForbidden, Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return &core.RPCError{Code: rpcTimeout, Message: "request timed out"}
	}
	c.s.Core().Logger().Error("request handler failed", "method", method, "session", c.s.Scope.SessionID, "err", err)
	return &core.RPCError{Code: rpcInternal, Message: "internal error"}
}
