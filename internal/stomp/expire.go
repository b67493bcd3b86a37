package stomp

import "github.com/heraldhq/herald/internal/core"

// Expire implements core.Expirer: a session whose credentials expired
// gets an ERROR frame saying so, then the connection closes (WebSocket
// 1008). Like GoingAway it only queues output, so it is safe from the
// sweeper. STOMP has no in-band refresh: the client reconnects with a
// fresh passcode.
func (c *conn) Expire() {
	c.a.errors.With("expired").Inc()
	c.closeAfter(AppendFrame(nil, max(c.v(), V10), &Frame{Command: cmdError, Headers: []Header{
		{"message", core.ReasonExpired}, {"content-type", "text/plain"}, {"content-length", "0"},
	}}), core.ClosePolicyViolation, core.ReasonExpired)
}

// AuthenticatesInBand implements core.InBand: CONNECT authenticates.
func (a *Adapter) AuthenticatesInBand() {}
