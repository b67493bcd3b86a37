package herald

import (
	"fmt"

	"github.com/heraldhq/herald/internal/core"
)

// Sentinel errors. Hooks return ErrUnauthorized or ErrForbidden (wrapped
// with %w for a better message) to refuse a connection, subscription or
// publication; each protocol reports them in its own terms (HTTP 401/403,
// JSON-RPC -32001/-32003, STOMP ERROR, MQTT reason codes).
var (
	ErrServerClosed = core.ErrClosed
	ErrUnauthorized = core.ErrUnauthorized
	ErrForbidden    = core.ErrForbidden
)

// Error is an error a request handler returns to give the client a
// specific code and message (JSON-RPC 2.0 error object). Any other error
// reaches the client as -32603 "internal error" and is logged.
type Error struct {
	Code    int
	Message string
	Data    any
}

func (e *Error) Error() string { return fmt.Sprintf("herald: %s (code %d)", e.Message, e.Code) }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code int, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// JSON-RPC error codes a handler may use.
const (
	CodeInvalidParams = -32602
	CodeInternalError = -32603
	CodeUnauthorized  = -32001
	CodeForbidden     = -32003
)

// Errors of Options.Limits, as hooks and handlers may meet them.
var (
	ErrTooManyConnections   = core.ErrTooManyConnections
	ErrHandshakeRate        = core.ErrHandshakeRate
	ErrMessageRate          = core.ErrMessageRate
	ErrTooManySubscriptions = core.ErrTooManySubscriptions
)
