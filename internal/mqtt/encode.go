package mqtt

import (
	"bytes"
	"unicode/utf8"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/wsframe"
)

// Control packets are encoded by the codec. PUBLISH is assembled here
// from its parts (fixed header, topic, packet identifier, properties,
// payload) because the payload, and for QoS 0 the whole packet, is shared
// by every subscriber while the packet identifier and subscription
// identifiers are per subscriber; the codec writes a packet in one piece.
// The property blocks inside it are still the codec's (Properties.Encode),
// and encode_test.go checks the assembly byte for byte against the
// codec's PublishEncode.

var pingresp = []byte{packets.Pingresp << 4, 0}

// encodePacket encodes a server-to-client control packet with the codec.
func encodePacket(pk *packets.Packet) []byte {
	var buf bytes.Buffer
	switch pk.FixedHeader.Type {
	case packets.Connack:
		pk.ConnackEncode(&buf)
	case packets.Puback:
		pk.PubackEncode(&buf)
	case packets.Pubrec:
		pk.PubrecEncode(&buf)
	case packets.Pubrel:
		pk.PubrelEncode(&buf)
	case packets.Pubcomp:
		pk.PubcompEncode(&buf)
	case packets.Suback:
		pk.SubackEncode(&buf)
	case packets.Unsuback:
		pk.UnsubackEncode(&buf)
	case packets.Disconnect:
		pk.DisconnectEncode(&buf)
	case packets.Auth:
		pk.AuthEncode(&buf)
	}
	return buf.Bytes()
}

// connackPacket encodes a CONNACK. A 3.1 (level 3) CONNACK has no
// session-present flag.
func connackPacket(ver byte, present bool, code byte, props packets.Properties, mods packets.Mods) []byte {
	if ver != 5 {
		code = connack3(code)
		props = packets.Properties{}
	}
	return encodePacket(&packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connack},
		ProtocolVersion: ver,
		SessionPresent:  present && ver != 3,
		ReasonCode:      code,
		Properties:      props,
		Mods:            mods,
	})
}

// ackPacket encodes a PUBACK, PUBREC, PUBREL or PUBCOMP; in 5.0 a success
// is the short form, without reason code (the codec writes codes from
// 0x80 up, the only other ones Herald sends).
func ackPacket(ver, typ byte, pid uint16, code byte) []byte {
	fh := packets.FixedHeader{Type: typ}
	if typ == packets.Pubrel {
		fh.Qos = 1 // flags 0010 [MQTT-3.6.1-1]
	}
	return encodePacket(&packets.Packet{FixedHeader: fh, ProtocolVersion: ver, PacketID: pid, ReasonCode: code})
}

func subackPacket(ver byte, pid uint16, codes []byte) []byte {
	return encodePacket(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Suback}, ProtocolVersion: ver, PacketID: pid, ReasonCodes: codes})
}

func unsubackPacket(ver byte, pid uint16, codes []byte) []byte {
	if ver != 5 {
		codes = nil
	}
	return encodePacket(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsuback}, ProtocolVersion: ver, PacketID: pid, ReasonCodes: codes})
}

// disconnectPacket encodes a 5.0 server DISCONNECT with a reason string
// (left out when the client asked for no problem information).
func disconnectPacket(code byte, reason string, mods packets.Mods) []byte {
	return encodePacket(&packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Disconnect},
		ProtocolVersion: 5,
		ReasonCode:      code,
		Properties:      packets.Properties{ReasonString: validString(reason)},
		Mods:            mods,
	})
}

// encodeProps encodes p for a packet of type typ and returns the property
// bytes without their length prefix, so that blocks can be joined.
func encodeProps(typ byte, p *packets.Properties) []byte {
	var buf bytes.Buffer
	p.Encode(typ, packets.Mods{AllowResponseInfo: true}, &buf, 0)
	b := buf.Bytes()
	_, k, _ := uvarint(b)
	return b[k:]
}

// validString reports s if it can go in an MQTT UTF-8 string (valid
// UTF-8, no NUL, at most 65535 bytes), else "".
func validString(s string) string {
	if len(s) > 65535 || !utf8.ValidString(s) || bytes.IndexByte([]byte(s), 0) >= 0 {
		return ""
	}
	return s
}

// pubHeader is everything of a PUBLISH but its payload.
type pubHeader struct {
	ver         byte // 3, 4 or 5
	qos         byte
	dup, retain bool
	pid         uint16
	topic       string
	own, shared []byte // 5.0 properties: per delivery (subscription identifiers, expiry) and per message
}

func (h *pubHeader) remaining(payload int) int {
	n := 2 + len(h.topic) + payload
	if h.qos > 0 {
		n += 2
	}
	if h.ver == 5 {
		p := len(h.own) + len(h.shared)
		n += uvarintLen(p) + p
	}
	return n
}

// size is the whole packet's size with a payload of n bytes.
func (h *pubHeader) size(payload int) int {
	r := h.remaining(payload)
	return 1 + uvarintLen(r) + r
}

// headerLen is the size of what append writes.
func (h *pubHeader) headerLen(payload int) int { return h.size(payload) - payload }

// append writes the fixed header, topic, packet identifier and properties
// of a PUBLISH whose payload is n bytes.
func (h *pubHeader) append(dst []byte, payload int) []byte {
	b0 := byte(packets.Publish<<4) | h.qos<<1
	if h.dup {
		b0 |= 0x08
	}
	if h.retain {
		b0 |= 0x01
	}
	dst = append(dst, b0)
	dst = appendUvarint(dst, h.remaining(payload))
	dst = append(dst, byte(len(h.topic)>>8), byte(len(h.topic)))
	dst = append(dst, h.topic...)
	if h.qos > 0 {
		dst = append(dst, byte(h.pid>>8), byte(h.pid))
	}
	if h.ver == 5 {
		dst = appendUvarint(dst, len(h.own)+len(h.shared))
		dst = append(dst, h.own...)
		dst = append(dst, h.shared...)
	}
	return dst
}

// frameOwn returns the per-delivery bytes of a PUBLISH whose payload
// (shared) follows them: its header, preceded on WebSocket by the frame
// header covering both.
func (h *pubHeader) frameOwn(ws bool, payload int) []byte {
	n := h.headerLen(payload)
	if !ws {
		return h.append(make([]byte, 0, n), payload)
	}
	total := n + payload
	b := wsframe.AppendHeader(make([]byte, 0, wsframe.HeaderLen(total)+n), wsframe.OpBinary, true, false, total)
	return h.append(b, payload)
}

// Keys of a message's cached encodings (message.Encoded).
const (
	keyMeta    = "mqtt/meta"    // see meta
	keyPayload = "mqtt/payload" // the payload itself, shared by every PUBLISH
	keyProps5  = "mqtt5/props"  // the 5.0 properties every subscriber shares
)

// whole QoS 0 packets, shared by every subscriber of a protocol family
// (3.1 and 3.1.1 encode PUBLISH alike), retain flag and transport.
var (
	wholeKeys [2][2][2]string
	wholeEncs [2][2][2]func(*message.Message) []byte
)

func init() {
	for v5 := range 2 {
		for ret := range 2 {
			for ws := range 2 {
				key := "mqtt/v4/q0"
				if v5 == 1 {
					key = "mqtt/v5/q0"
				}
				key += [...]string{"/r0", "/r1"}[ret] + [...]string{"", "/ws"}[ws]
				wholeKeys[v5][ret][ws] = key
				h := pubHeader{ver: 4, retain: ret == 1}
				if v5 == 1 {
					h.ver = 5
				}
				isWS := ws == 1
				wholeEncs[v5][ret][ws] = func(m *message.Message) []byte {
					hh := h
					hh.topic = m.Topic
					if hh.ver == 5 {
						hh.shared = props5(m)
					}
					n := len(m.Data)
					size := hh.size(n)
					var b []byte
					if isWS {
						b = wsframe.AppendHeader(make([]byte, 0, wsframe.HeaderLen(size)+size), wsframe.OpBinary, true, false, size)
					} else {
						b = make([]byte, 0, size)
					}
					b = hh.append(b, n)
					return append(b, m.Data...)
				}
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func payloadOf(m *message.Message) []byte { return m.Data }

// props5 is the 5.0 property block of m that every subscriber shares: what
// an MQTT publisher sent to be forwarded (payload format, response topic,
// correlation data), the content type and the headers as user
// properties, so that STOMP headers and JSON metadata reach MQTT 5
// clients. Cached per message.
func props5(m *message.Message) []byte {
	return m.Encoded(keyProps5, encodeProps5)
}

func encodeProps5(m *message.Message) []byte {
	md := metaOf(m)
	var p packets.Properties
	p.ContentType = validString(m.ContentType)
	for _, h := range m.Headers {
		k, v := validString(h.Key), validString(h.Value)
		if (k == "" && h.Key != "") || (v == "" && h.Value != "") {
			continue // not expressible as an MQTT string
		}
		p.User = append(p.User, packets.UserProperty{Key: k, Val: v})
	}
	rest := encodeProps(packets.Publish, &p)
	if len(md.fwd) == 0 {
		return rest
	}
	return append(append(make([]byte, 0, len(md.fwd)+len(rest)), md.fwd...), rest...)
}

// meta is what the router's message does not carry of an MQTT
// publication: its QoS, its expiry interval and the 5.0 properties to
// forward. It travels with the message as a cached encoding (keyMeta), set
// before the message is published, so every MQTT subscriber finds it;
// messages from other protocols have none and count as QoS 2 (delivered
// at the subscription's QoS) without expiry.
type meta struct {
	qos    byte
	expiry uint32 // seconds; 0: none
	fwd    []byte // 5.0 property bytes to forward as they are
}

func (md meta) bytes() []byte {
	b := make([]byte, 5, 5+len(md.fwd))
	b[0] = md.qos
	b[1], b[2], b[3], b[4] = byte(md.expiry>>24), byte(md.expiry>>16), byte(md.expiry>>8), byte(md.expiry)
	return append(b, md.fwd...)
}

// setMeta attaches md to m, which must not be published yet.
func setMeta(m *message.Message, md meta) {
	b := md.bytes()
	m.Encoded(keyMeta, func(*message.Message) []byte { return b })
}

func noMeta(*message.Message) []byte { return nil }

func metaOf(m *message.Message) meta {
	b := m.Encoded(keyMeta, noMeta)
	if len(b) < 5 {
		return meta{qos: 2}
	}
	return meta{qos: b[0], expiry: uint32(b[1])<<24 | uint32(b[2])<<16 | uint32(b[3])<<8 | uint32(b[4]), fwd: b[5:]}
}
