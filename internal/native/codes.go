// Package native holds Herald's own protocols: JSON-RPC 2.0 ("herald.v1"),
// plain text (no subprotocol) and the chat room ("chat").
package native

// JSON-RPC 2.0 error codes. The -32000 to -32099 range is the
// implementation-defined server error range the specification reserves.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
	CodeUnauthorized   = -32001 // credentials missing or invalid
	CodeForbidden      = -32003 // authorization hook refused
	CodeOverloaded     = -32005 // too many requests in flight on this connection
	CodeTimeout        = -32008 // the handler did not answer in time
	CodeLimit          = -32029 // a limit of the connection (subscriptions) is reached
)
