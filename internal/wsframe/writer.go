package wsframe

import "encoding/binary"

// HeaderLen returns the length of an unmasked frame header for a payload of
// payloadLen bytes (2, 4 or 10), so callers can reserve space up front.
func HeaderLen(payloadLen int) int {
	switch {
	case payloadLen <= 125:
		return 2
	case payloadLen <= 0xFFFF:
		return 4
	}
	return 10
}

// AppendHeader appends an unmasked (server-to-client) frame header. Lengths
// use the minimal encoding, as RFC 6455 requires of senders. Setting rsv1
// marks the first frame of a compressed message. It panics if payloadLen is
// negative.
func AppendHeader(dst []byte, op byte, fin, rsv1 bool, payloadLen int) []byte {
	return appendHeader(dst, op, fin, rsv1, false, payloadLen)
}

func appendHeader(dst []byte, op byte, fin, rsv1, masked bool, n int) []byte {
	if n < 0 {
		panic("wsframe: negative payload length")
	}
	b0 := op & 0x0F
	if fin {
		b0 |= bitFin
	}
	if rsv1 {
		b0 |= bitRSV1
	}
	var b1 byte
	if masked {
		b1 = bitMask
	}
	switch {
	case n <= 125:
		return append(dst, b0, b1|byte(n))
	case n <= 0xFFFF:
		return append(dst, b0, b1|126, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, b0, b1|127), uint64(n))
}

// AppendFrame appends a complete unmasked frame with FIN set and RSV1 clear.
func AppendFrame(dst []byte, op byte, payload []byte) []byte {
	dst = appendHeader(dst, op, true, false, false, len(payload))
	return append(dst, payload...)
}

// AppendMaskedFrame appends a masked (client-to-server) frame, for tests and
// load tools. To send a compressed message, set RSV1 afterwards on the first
// byte of the frame (dst[start] |= 0x40).
func AppendMaskedFrame(dst []byte, op byte, fin bool, key [4]byte, payload []byte) []byte {
	dst = appendHeader(dst, op, fin, false, true, len(payload))
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	maskBytes(key, 0, dst[start:])
	return dst
}
