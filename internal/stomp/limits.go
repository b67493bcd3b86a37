package stomp

import "github.com/heraldhq/herald/internal/core"

// rateError ends a connection over its message rate.
var rateError = &stompError{msg: "message rate exceeded", code: core.ClosePolicyViolation, reason: "limit"}

// OnRateLimited implements core.RateLimiter for STOMP over WebSocket: the
// ERROR goes out after the frames already received are handled, as for a
// parse error.
func (c *conn) OnRateLimited() error {
	c.inMu.Lock()
	if c.inErr == nil {
		c.inErr = core.ErrMessageRate
	}
	c.inMu.Unlock()
	c.schedule()
	return nil
}
