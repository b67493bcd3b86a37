package mqtt

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/mochi-mqtt/server/v2/packets"
)

// decodeError is a packet the codec or our structural checks refused,
// with the MQTT 5 reason code it earns (0x81 malformed packet or 0x82
// protocol error; 3.1.1 closes the connection either way).
type decodeError struct {
	code   byte
	reason string
}

func (e *decodeError) Error() string {
	return fmt.Sprintf("mqtt: %s (reason 0x%02x)", e.reason, e.code)
}

func malformed(format string, a ...any) error {
	return &decodeError{code: codeMalformed, reason: fmt.Sprintf(format, a...)}
}

func protocolError(format string, a ...any) error {
	return &decodeError{code: codeProtocolError, reason: fmt.Sprintf(format, a...)}
}

// packetPool recycles the codec's Packet, a large struct, once a packet
// has been handled (releasePacket): nothing keeps a pointer to it, only
// to the strings and slices inside, which point into the packet's body.
var packetPool = sync.Pool{New: func() any { return new(packets.Packet) }}

func releasePacket(pk *packets.Packet) {
	*pk = packets.Packet{}
	packetPool.Put(pk)
}

// codecPanics counts panics the codec raised on some input and decode
// recovered (see decode). Tests read it.
var codecPanics atomic.Int64

// decode turns a packet's first byte and body into the codec's Packet,
// for protocol version ver (3, 4 or 5: 3.1, 3.1.1, 5.0; a CONNECT carries
// its own). body becomes the packet's: its strings and payload point into
// it.
//
// This is the trust boundary of every byte a client sends, so it never
// panics: the codec has panicked on malformed input (see
// docs/adr/0006-mqtt-codec.md), and a recovered panic is reported as a
// malformed packet.
func decode(ver, first byte, body []byte) (pk *packets.Packet, err error) {
	defer func() {
		if r := recover(); r != nil {
			codecPanics.Add(1)
			pk, err = nil, malformed("undecodable %s packet", packetName(first>>4))
		}
	}()
	return decodeUnrecovered(ver, first, body)
}

// decodeUnrecovered is decode without the recover, for the fuzz target to
// find what the codec does on its own.
func decodeUnrecovered(ver, first byte, body []byte) (*packets.Packet, error) {
	pk := packetPool.Get().(*packets.Packet)
	pk.ProtocolVersion = ver
	if err := pk.FixedHeader.Decode(first); err != nil {
		return nil, codecError(err, "fixed header")
	}
	pk.FixedHeader.Remaining = len(body)
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Pubrec:
		err = pk.PubrecDecode(body)
	case packets.Pubrel:
		err = pk.PubrelDecode(body)
	case packets.Pubcomp:
		err = pk.PubcompDecode(body)
	case packets.Subscribe:
		err = pk.SubscribeDecode(body)
		if err == nil && ver == 5 {
			err = checkSubscribeOptions(pk, body)
		}
	case packets.Unsubscribe:
		err = pk.UnsubscribeDecode(body)
	case packets.Pingreq:
		err = pk.PingreqDecode(body)
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	case packets.Auth:
		if ver != 5 {
			return nil, malformed("reserved packet type 15")
		}
		err = pk.AuthDecode(body)
	case packets.Reserved:
		return nil, malformed("reserved packet type 0")
	default: // CONNACK, SUBACK, UNSUBACK, PINGRESP: server-to-client only
		return nil, protocolError("a client may not send %s", packetName(pk.FixedHeader.Type))
	}
	if err != nil {
		return nil, codecError(err, packetName(pk.FixedHeader.Type))
	}
	return pk, nil
}

// codecError maps the codec's error to a decodeError with its reason code.
func codecError(err error, what string) error {
	var de *decodeError
	if errors.As(err, &de) {
		return err // one of our own checks
	}
	var c packets.Code
	if errors.As(err, &c) && c.Code >= 0x80 {
		return &decodeError{code: c.Code, reason: what + ": " + err.Error()}
	}
	return malformed("%s: %v", what, err)
}

// checkSubscribeOptions finds what the codec's SUBSCRIBE decoding drops:
// the reserved bits of each 5.0 Subscription Options byte must be 0 and
// Retain Handling must not be 3 [MQTT-3.8.3-5]. It walks the body by the
// lengths of the filters the codec decoded.
func checkSubscribeOptions(pk *packets.Packet, body []byte) error {
	off := 2 // packet identifier
	n, k, ok := uvarint(body[off:])
	if !ok {
		return malformed("SUBSCRIBE: properties length")
	}
	off += k + n
	for _, f := range pk.Filters {
		off += 2 + len(f.Filter)
		if off >= len(body) {
			return malformed("SUBSCRIBE: no options for filter %q", clip(f.Filter))
		}
		opt := body[off]
		off++
		if opt&0xc0 != 0 {
			return malformed("SUBSCRIBE: reserved option bits set")
		}
		if opt>>4&3 == 3 {
			return protocolError("SUBSCRIBE: retain handling 3")
		}
	}
	return nil
}

// uvarint reads a Variable Byte Integer from b: its value, its length and
// whether it is well formed.
func uvarint(b []byte) (v, n int, ok bool) {
	shift := 0
	for i := 0; i < len(b) && i < 4; i++ {
		v |= int(b[i]&0x7f) << shift
		if b[i]&0x80 == 0 {
			return v, i + 1, true
		}
		shift += 7
	}
	return 0, 0, false
}

// appendUvarint appends v as a Variable Byte Integer.
func appendUvarint(b []byte, v int) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v > 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// uvarintLen is the encoded length of v.
func uvarintLen(v int) int {
	switch {
	case v < 128:
		return 1
	case v < 16384:
		return 2
	case v < 2097152:
		return 3
	}
	return 4
}

func packetName(t byte) string {
	if n, ok := packets.PacketNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) <= 32 {
		return s
	}
	cut := 32
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
