package native

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/heraldhq/herald/internal/core"
)

// decodeMessage splits one WebSocket message into request bodies; batch
// reports a JSON array. fail is the response to send instead when the
// message cannot be processed at all (not JSON, empty batch).
func decodeMessage(msg []byte) (reqs []json.RawMessage, batch bool, fail *response) {
	msg = bytes.TrimSpace(msg)
	parseError := &response{ID: null, Error: &core.RPCError{Code: CodeParseError, Message: "parse error: invalid JSON"}}
	if len(msg) == 0 {
		return nil, false, parseError
	}
	if msg[0] != '[' {
		// decodeRequest's Unmarshal validates the whole message; only a
		// syntax error there is a parse error (see decodeRequest).
		return []json.RawMessage{msg}, false, nil
	}
	if err := json.Unmarshal(msg, &reqs); err != nil {
		return nil, true, parseError
	}
	if len(reqs) == 0 {
		return nil, true, &response{ID: null, Error: &core.RPCError{Code: CodeInvalidRequest, Message: "invalid request: empty batch"}}
	}
	return reqs, true, nil
}

// decodeRequest validates one request object. fail is the error response
// for an invalid request; skip is set for an invalid notification, which
// gets no response at all.
func decodeRequest(raw json.RawMessage) (req request, fail *response, skip bool) {
	if err := json.Unmarshal(raw, &req); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return req, &response{ID: null, Error: &core.RPCError{Code: CodeParseError, Message: "parse error: invalid JSON"}}, false
		}
		return req, &response{ID: null, Error: &core.RPCError{Code: CodeInvalidRequest, Message: "invalid request: not a request object"}}, false
	}
	id := req.ID
	if id != nil && !validID(id) {
		return req, &response{ID: null, Error: &core.RPCError{Code: CodeInvalidRequest, Message: "invalid request: id must be a string, number or null"}}, false
	}
	if req.JSONRPC != "2.0" || req.Method == nil {
		if id == nil {
			id = null
		}
		return req, &response{ID: id, Error: &core.RPCError{Code: CodeInvalidRequest, Message: `invalid request: need "jsonrpc":"2.0" and a method`}}, false
	}
	if string(req.Params) == "null" {
		req.Params = nil // common in the wild; treated as absent
	}
	if len(req.Params) > 0 && req.Params[0] != '{' && req.Params[0] != '[' {
		if id == nil {
			return req, nil, true
		}
		return req, &response{ID: id, Error: &core.RPCError{Code: CodeInvalidRequest, Message: "invalid request: params must be an object or an array"}}, false
	}
	return req, nil, false
}
