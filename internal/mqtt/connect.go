package mqtt

import (
	"context"
	"errors"
	"math"
	"time"
	"unicode/utf8"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// will is a connection's Will Message, published when the connection
// ends without a normal DISCONNECT.
type will struct {
	topic       string
	payload     []byte
	qos         byte
	retain      bool
	delay       uint32 // 5.0 Will Delay Interval, seconds
	md          meta
	contentType string
	headers     []message.Header
	publisher   string // core session id of the connection, for No Local
}

// onConnect validates a CONNECT, authenticates it through the connect
// hook, then creates, resumes or takes over the client's session.
func (c *conn) onConnect(pk *packets.Packet) {
	ver := pk.ProtocolVersion
	name := string(pk.Connect.ProtocolName)
	switch {
	case name == "MQTT" && (ver == 4 || ver == 5), name == "MQIsdp" && ver == 3:
	case name == "MQTT" || name == "MQIsdp":
		// An unknown protocol level [MQTT-3.1.2-2]: answered in the
		// 3.1.1 form, which every client reads.
		c.refuseAs(4, codeUnsupportedVersion, "unsupported protocol level")
		return
	default:
		c.refused.Store(true) // not MQTT [MQTT-3.1.2-1]
		c.closeWith(nil, core.CloseProtocolError, "not an MQTT CONNECT")
		return
	}
	if c.refusedByLimits() {
		return
	}
	v5 := ver == 5
	p := &pk.Properties
	if v5 {
		if p.RequestProblemInfoFlag && p.RequestProblemInfo == 0 {
			c.problemInfo = false
			c.mods.DisallowProblemInfo = true
		}
		c.clientMax = p.MaximumPacketSize
		c.mods.MaxSize = p.MaximumPacketSize
	}
	cp := &pk.Connect
	switch {
	case pk.ReservedBit != 0:
		c.malformedConnect(codeMalformed, "reserved flag set") // [MQTT-3.1.2-3]
		return
	case !cp.WillFlag && (cp.WillQos != 0 || cp.WillRetain):
		c.malformedConnect(codeMalformed, "will QoS or retain without a will") // [MQTT-3.1.2-13] [MQTT-3.1.2-15]
		return
	case cp.WillQos > 2:
		c.malformedConnect(codeMalformed, "will QoS 3") // [MQTT-3.1.2-14]
		return
	case !v5 && cp.PasswordFlag && !cp.UsernameFlag:
		c.malformedConnect(codeMalformed, "password without user name") // 3.1.1 [MQTT-3.1.2-22]
		return
	case v5 && (p.RequestProblemInfo > 1 || p.RequestResponseInfo > 1):
		c.malformedConnect(codeProtocolError, "request problem/response information must be 0 or 1")
		return
	case v5 && p.AuthenticationMethod != "" && p.AuthenticationMethod != AuthMethod:
		c.refuse(codeBadAuthMethod, "the only authentication method is "+AuthMethod) // [MQTT-4.12.0-1]
		return
	}

	// Client identifier [MQTT-3.1.3-6] [MQTT-3.1.3-7] [MQTT-3.1.3-8].
	cid, assigned := cp.ClientIdentifier, ""
	switch {
	case ver == 3 && (cid == "" || len(cid) > 23):
		c.refuse(codeClientIDNotValid, "MQTT 3.1 client identifiers have 1 to 23 characters")
		return
	case cid == "" && !v5 && !cp.Clean:
		c.refuse(codeClientIDNotValid, "an empty client identifier needs a clean session")
		return
	case cid == "":
		cid = "herald-" + c.s.Scope.SessionID
		if v5 {
			assigned = cid
		}
	}

	var w *will
	if cp.WillFlag {
		var code byte
		if w, code = c.willOf(pk); w == nil {
			if v5 {
				c.refuse(code, "will not acceptable")
			} else {
				c.malformedConnect(codeMalformed, "will topic not valid")
			}
			return
		}
	}

	cfg := c.s.Core().Config()
	ctx, cancel := context.WithTimeout(c.s.Context(), cfg.RequestTimeout)
	defer cancel()
	id, err := c.s.Core().Connect(ctx, &core.ConnectInfo{
		RemoteAddr: c.s.Scope.RemoteAddr,
		Header:     c.s.Scope.Header(),
		Protocol:   "mqtt",
		Transport:  c.s.Scope.Transport,
		Login:      string(cp.Username),
		Passcode:   c.passcode(pk),
		TLS:        c.s.TLS(),
	})
	if err != nil {
		code := byte(codeNotAuthorized)
		switch {
		case errors.Is(err, core.ErrUnauthorized):
			code = codeBadUserOrPassword
		case errors.Is(err, context.DeadlineExceeded):
			code = codeServerUnavailable
		}
		c.refuse(code, err.Error())
		return
	}
	c.s.SetIdentity(id)
	if w != nil {
		if err := c.s.Core().Authorize(ctx, &c.s.Scope, core.ActionPublish, w.topic); err != nil || isSys(w.topic) {
			c.refuse(codeNotAuthorized, "not allowed to publish the will")
			return
		}
	}

	// Keep alive, and the 5.0 Server Keep Alive.
	ka := int(cp.Keepalive)
	serverKA := false
	if max := int(c.a.opts.MaxKeepAlive / time.Second); v5 && max > 0 && (ka == 0 || ka > max) {
		ka, serverKA = min(max, 65535), true
	}
	c.keepAlive.Store(int64(ka) * int64(time.Second) * 3 / 2)

	// Session expiry: 3.1.1's clean session 0 is a session that lasts as
	// long as the server allows.
	maxExpiry := uint32(min(int64(c.a.opts.MaxSessionExpiry/time.Second), math.MaxUint32))
	var expiry uint32
	capped := false
	switch {
	case v5 && p.SessionExpiryIntervalFlag:
		expiry = p.SessionExpiryInterval
		if expiry > maxExpiry {
			expiry, capped = maxExpiry, true
		}
	case !v5 && !cp.Clean:
		expiry = maxExpiry
	}

	c.window = c.a.opts.MaxInflight
	if v5 && p.ReceiveMaximum > 0 {
		c.window = min(c.window, int(p.ReceiveMaximum))
	}
	c.clientID = cid

	var props packets.Properties
	if v5 {
		o := &c.a.opts
		props = packets.Properties{
			AuthenticationMethod: c.authMethod,
			MaximumPacketSize:    uint32(o.MaxPacketSize),
			TopicAliasMaximum:    uint16(o.TopicAliasMaximum),
			AssignedClientID:     assigned,
		}
		if o.ReceiveMaximum < 65535 {
			props.ReceiveMaximum = uint16(o.ReceiveMaximum)
		}
		if capped {
			props.SessionExpiryInterval, props.SessionExpiryIntervalFlag = expiry, true
		}
		if serverKA {
			props.ServerKeepAlive, props.ServerKeepAliveFlag = uint16(ka), true
		}
	}
	c.start(cid, cp.Clean, expiry, w, props)
}

// willOf builds the will of a CONNECT, or reports the 5.0 reason code it
// is refused with.
func (c *conn) willOf(pk *packets.Packet) (*will, byte) {
	cp := &pk.Connect
	if topic.ValidName(cp.WillTopic) != nil {
		return nil, codeTopicNameInvalid // a topic name (§3.1.3 Will Topic)
	}
	w := &will{topic: cp.WillTopic, payload: cp.WillPayload, qos: cp.WillQos, retain: cp.WillRetain, publisher: c.s.Scope.SessionID}
	w.md.qos = cp.WillQos
	if pk.ProtocolVersion == 5 {
		wp := &cp.WillProperties
		if wp.PayloadFormatFlag && wp.PayloadFormat == 1 && !utf8.Valid(cp.WillPayload) {
			return nil, codePayloadFormatInvalid
		}
		if wp.ResponseTopic != "" && topic.ValidName(wp.ResponseTopic) != nil {
			return nil, codeTopicNameInvalid
		}
		w.delay = wp.WillDelayInterval
		w.md.expiry = wp.MessageExpiryInterval
		w.md.fwd = forwardProps(wp)
		w.contentType = wp.ContentType
		w.headers = headersOf(wp.User)
	}
	return w, 0
}

// forwardProps encodes the properties of a publication that are passed
// on to subscribers as they are.
func forwardProps(p *packets.Properties) []byte {
	f := packets.Properties{
		PayloadFormat:     p.PayloadFormat,
		PayloadFormatFlag: p.PayloadFormatFlag,
		ResponseTopic:     p.ResponseTopic,
		CorrelationData:   p.CorrelationData,
	}
	return encodeProps(packets.Publish, &f)
}

func headersOf(user []packets.UserProperty) []message.Header {
	if len(user) == 0 {
		return nil
	}
	h := make([]message.Header, len(user))
	for i, u := range user {
		h[i] = message.Header{Key: u.Key, Value: u.Val}
	}
	return h
}

// start creates, resumes or takes over the session of cid and attaches
// the connection to it.
func (c *conn) start(cid string, clean bool, expiry uint32, w *will, props packets.Properties) {
	a := c.a
	// In a cluster, the session may be on another node, or have been.
	adopted, err := a.adopt(cid, clean)
	if err != nil {
		a.core.Logger().Warn("mqtt: connect refused", "client", cid, "err", err)
		c.refuse(codeServerUnavailable, "session not available now")
		return
	}
	var ss, ended *session
	var kick *conn
	present := false
	a.mu.Lock()
	if old := a.sessions[cid]; old != nil {
		old.mu.Lock()
		kick = old.conn // session takeover: 5.0 [MQTT-3.1.4-3], 3.1.1 [MQTT-3.1.4-2]
		if kick != nil {
			old.detachLocked()
		}
		resume := !clean && old.expiry > 0
		old.mu.Unlock()
		if resume {
			delete(a.offline, old)
			ss, present = old, true
		} else {
			a.retireLocked(old)
			ended = old
		}
	}
	if ss == nil && adopted != nil {
		ss, present, adopted = adopted, true, nil
	}
	if ss == nil {
		ss = newSession(a, cid)
	}
	a.sessions[cid] = ss
	a.mu.Unlock()
	if adopted != nil { // another connection of the client registered one meanwhile
		a.discard(adopted)
	}
	if kick != nil {
		kick.takenOver()
	}
	if ended != nil {
		a.cleanup(ended)
	}

	connack := connackPacket(c.ver, present, codeSuccess, props, c.mods)
	c.connected.Store(true)
	kick = nil
	// The connection cannot be finished meanwhile: finish runs on this
	// worker, after this packet.
	c.mu.Lock()
	ss.mu.Lock()
	gone := ss.ended
	if !gone {
		if prev := ss.conn; prev != nil && prev != c {
			// Another connection attached meanwhile: the newest wins.
			ss.detachLocked()
			kick = prev
		}
		ss.expiry = expiry
		ss.attachLocked(c, connack)
		ss.saveLocked(time.Time{})
		c.sess, c.will = ss, w
	}
	ss.mu.Unlock()
	c.mu.Unlock()
	if gone {
		// A newer connection for the same client took the session over
		// before this one could attach.
		c.takenOver()
		return
	}
	a.connected.Add(1)
	if kick != nil {
		kick.takenOver()
	}
	if a.opts.Connected != nil {
		a.opts.Connected(cid) // takeover across a cluster (takeover.go)
	}
}

// takenOver closes a connection whose session another one took over
// (5.0: DISCONNECT 0x8E).
func (c *conn) takenOver() {
	c.refused.Store(true)
	c.disconnect(codeSessionTakenOver, "session taken over")
}

// refuse answers CONNECT with a failure reason code and closes
// [MQTT-3.2.2-5] (5.0 [MQTT-3.2.2-7]).
func (c *conn) refuse(code byte, reason string) { c.refuseAs(c.ver, code, reason) }

// refuseAs is refuse in the CONNACK form of protocol level ver.
func (c *conn) refuseAs(ver, code byte, reason string) {
	c.refused.Store(true)
	var props packets.Properties
	if ver == 5 && c.problemInfo {
		props.ReasonString = validString(reason)
	}
	c.closeWith(connackPacket(ver, false, code, props, c.mods), core.ClosePolicyViolation, reason)
}

// malformedConnect refuses a CONNECT that breaks the protocol: 5.0 says
// why in a CONNACK, 3.1.1 closes the connection.
func (c *conn) malformedConnect(code byte, reason string) {
	if c.ver == 5 {
		c.refuse(code, reason)
		return
	}
	c.refused.Store(true)
	c.closeWith(nil, core.CloseProtocolError, reason)
}

// onDisconnect: a DISCONNECT discards the will, in 5.0 only with reason
// 0x00 (0x04 asks for it, an error code gets it too) [MQTT-3.1.2-10]
// [MQTT-3.14.4-3]; the server then closes the connection (§3.14.4).
func (c *conn) onDisconnect(pk *packets.Packet) {
	keepWill := false
	if c.ver == 5 {
		keepWill = pk.ReasonCode != codeSuccess
		if pk.Properties.SessionExpiryIntervalFlag {
			ss := c.sess
			ss.mu.Lock()
			was := ss.expiry
			if was != 0 || pk.Properties.SessionExpiryInterval == 0 {
				ss.expiry = min(pk.Properties.SessionExpiryInterval, uint32(min(int64(c.a.opts.MaxSessionExpiry/time.Second), math.MaxUint32)))
			}
			ss.mu.Unlock()
			if was == 0 && pk.Properties.SessionExpiryInterval != 0 {
				c.fail(protocolError("DISCONNECT cannot set a session expiry after CONNECT set none")) // [MQTT-3.14.2-2]
				return
			}
		}
	}
	if !keepWill {
		c.mu.Lock()
		c.will = nil
		c.mu.Unlock()
	}
	c.refused.Store(true)
	c.closeWith(nil, core.CloseNormal, "")
}

// publishWill publishes w (nil: nothing) on behalf of its gone client.
func (a *Adapter) publishWill(w *will) {
	if w == nil {
		return
	}
	m := &message.Message{Topic: w.topic, Data: w.payload, ContentType: w.contentType, Headers: w.headers, Publisher: w.publisher, Retain: w.retain}
	setMeta(m, w.md)
	if err := a.route(context.Background(), m, w.retain); err != nil {
		a.core.Logger().Debug("mqtt: will not published", "topic", w.topic, "err", err)
	}
}

func isSys(t string) bool { return t == "$SYS" || len(t) > 5 && t[:5] == "$SYS/" }
