package stomp

import "github.com/heraldhq/herald/internal/core"

// rateError ends a connection over its message rate.
var rateError = &stompError{msg: "message rate exceeded", code: core.ClosePolicyViolation, reason: "limit"}

// CountsFrames implements core.FrameCounter: the message rate counts
// STOMP frames (onFrame), over TCP and WebSocket alike, and an exceeded
// rate gets an ERROR after the frames received before it are handled.
func (c *conn) CountsFrames() {}
