package mqtt

import (
	"errors"

	"github.com/heraldhq/herald/internal/core"
)

// refusedByLimits answers a CONNECT on a connection the core did not
// admit: 5.0 CONNACK 0x97 quota exceeded (0x9F for the connection rate),
// 3.1.1 return code 0x03 server unavailable. c.ver is set already.
func (c *conn) refusedByLimits() bool {
	err := c.s.Refused()
	if err == nil {
		return false
	}
	code := byte(codeQuotaExceeded)
	if errors.Is(err, core.ErrHandshakeRate) {
		code = codeConnectionRateExceeded
	}
	c.refuse(code, err.Error())
	return true
}

// CountsFrames implements core.FrameCounter: the message rate counts
// MQTT packets (OnMessage), over TCP and WebSocket alike; past it a 5.0
// client gets DISCONNECT 0x96 and a 3.1.1 client is closed.
func (c *conn) CountsFrames() {}

// full reports whether sub would take the session past the connection's
// subscription limit (replacing an existing filter never does); the
// refusal is counted.
func (ss *session) full(sub *subscription) bool {
	lim := ss.a.core.MaxSubscriptions()
	if lim <= 0 {
		return false
	}
	ss.mu.Lock()
	n := len(ss.subs) + len(ss.shared)
	exists := false
	for _, s := range ss.subs {
		exists = exists || s.filter == sub.filter
	}
	for _, s := range ss.shared {
		exists = exists || s.share == sub.share && sub.share != ""
	}
	ss.mu.Unlock()
	if exists || n < lim {
		return false
	}
	ss.a.core.SubscriptionLimited()
	return true
}
