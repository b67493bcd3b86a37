package mqtt

import (
	"context"
	"slices"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
)

// AuthMethod is the MQTT 5 Authentication Method Herald speaks: a
// one-step exchange in which the Authentication Data is a bearer token
// (what the server's authenticator accepts as a password). A client that
// names it in CONNECT may re-authenticate later with an AUTH packet of
// reason 0x19 carrying a fresh token [MQTT-4.12.1].
const AuthMethod = "token"

// 5.0 reason codes of enhanced authentication and expiry.
const (
	codeReauthenticate = 0x19
	codeMaxConnectTime = 0xA0 // "Maximum connect time": the credentials' time is up
)

// passcode is the credential a CONNECT presents: its password or, when
// it names AuthMethod and has no password, its Authentication Data. It
// records the method, which the CONNACK echoes and AUTH must repeat.
func (c *conn) passcode(pk *packets.Packet) string {
	if pk.ProtocolVersion == 5 && pk.Properties.AuthenticationMethod == AuthMethod {
		c.authMethod = AuthMethod
		if len(pk.Connect.Password) == 0 {
			return string(pk.Properties.AuthenticationData)
		}
	}
	return string(pk.Connect.Password)
}

// onAuth handles a client's AUTH: re-authentication with a fresh token.
// Success is answered with AUTH 0x00 and the new identity (permissions,
// expiry) applies, to the session's subscriptions too (revoke); failure
// ends the connection with DISCONNECT 0x87, as the specification asks
// [MQTT-4.12.1-2].
func (c *conn) onAuth(pk *packets.Packet) {
	p := &pk.Properties
	switch {
	case c.authMethod == "":
		c.fail(protocolError("AUTH without an authentication method")) // [MQTT-4.12.0-1]
		return
	case p.AuthenticationMethod != c.authMethod:
		c.fail(protocolError("AUTH names another authentication method than CONNECT")) // [MQTT-4.12.1-1]
		return
	case pk.ReasonCode != codeReauthenticate:
		c.fail(protocolError("AUTH reason code %#02x: a client may only re-authenticate (0x19)", pk.ReasonCode))
		return
	}
	ctx, cancel := context.WithTimeout(c.s.Context(), c.s.Core().Config().RequestTimeout)
	defer cancel()
	if _, err := c.s.Reauthenticate(ctx, string(p.AuthenticationData)); err != nil {
		c.refused.Store(true)
		reason := "re-authentication failed: " + err.Error()
		c.closeWith(disconnectPacket(codeNotAuthorized, reason, c.mods), core.ClosePolicyViolation, "re-authentication failed")
		return
	}
	c.revoke(ctx)
	c.send(encodePacket(&packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Auth},
		ProtocolVersion: 5,
		ReasonCode:      codeSuccess,
		Properties:      packets.Properties{AuthenticationMethod: c.authMethod},
		Mods:            c.mods,
	}))
}

// Expire implements core.Expirer: a 5.0 client whose credentials expired
// gets DISCONNECT 0xA0 (maximum connect time) with the reason string
// "token expired"; a 3.1.1 connection is closed (it has no DISCONNECT
// from the server). Like GoingAway it only queues output.
func (c *conn) Expire() {
	c.refused.Store(true)
	var final []byte
	if c.connected.Load() && c.ver == 5 {
		final = disconnectPacket(codeMaxConnectTime, core.ReasonExpired, c.mods)
	}
	c.closeWith(final, core.ClosePolicyViolation, core.ReasonExpired)
}

// AuthenticatesInBand implements core.InBand: CONNECT authenticates.
func (a *Adapter) AuthenticatesInBand() {}

// revoke authorizes the session's subscriptions again for the identity
// now in force and drops those refused, as an UNSUBSCRIBE would. MQTT
// has no packet to tell the client; the server's log says which.
func (c *conn) revoke(ctx context.Context) {
	ss, a := c.sess, c.a
	ss.mu.Lock()
	subs := slices.Clone(ss.subs)
	shared := slices.Clone(ss.shared)
	ss.mu.Unlock()
	refused := func(filter string) bool {
		return a.core.Authorize(ctx, &c.s.Scope, core.ActionSubscribe, filter) != nil
	}
	for _, sub := range subs {
		if refused(sub.filter) && ss.drop(sub.filter) {
			a.core.Router().Unsubscribe(ss, sub.filter)
			a.subs.Add(-1)
			a.core.Logger().Debug("mqtt: subscription revoked by re-authentication", "session", c.s.Scope.SessionID, "filter", sub.filter)
		}
	}
	for _, sub := range shared {
		if refused(sub.filter) && a.leave(ss, sub.share) {
			a.subs.Add(-1)
		}
	}
}
