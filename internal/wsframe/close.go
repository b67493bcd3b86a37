package wsframe

import (
	"encoding/binary"
	"unicode/utf8"
)

// Close status codes (RFC 6455 section 7.4 and the IANA registry).
const (
	CloseNormal             uint16 = 1000
	CloseGoingAway          uint16 = 1001
	CloseProtocolError      uint16 = 1002
	CloseUnsupportedData    uint16 = 1003
	CloseNoStatus           uint16 = 1005 // never on the wire: "no code received"
	CloseAbnormal           uint16 = 1006 // never on the wire: connection dropped
	CloseInvalidPayload     uint16 = 1007
	ClosePolicyViolation    uint16 = 1008
	CloseMessageTooBig      uint16 = 1009
	CloseMandatoryExtension uint16 = 1010
	CloseInternalError      uint16 = 1011
	CloseServiceRestart     uint16 = 1012
	CloseTryAgainLater      uint16 = 1013
	CloseBadGateway         uint16 = 1014
)

// maxCloseReason keeps a close payload within the 125-byte control limit.
const maxCloseReason = MaxControlPayload - 2

// ValidCloseCode reports whether code may appear in a received close frame.
// 1004-1006 and 1015 are reserved or local-only, 1016-2999 are unassigned
// protocol codes, 3000-4999 belong to libraries and applications.
func ValidCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// checkClosePayload enforces RFC 6455 section 5.5.1 on a received close
// payload: empty, or a valid code followed by a UTF-8 reason.
func checkClosePayload(p []byte) error {
	switch {
	case len(p) == 0:
		return nil
	case len(p) == 1:
		return protocolError("close payload of 1 byte")
	case !ValidCloseCode(binary.BigEndian.Uint16(p)):
		return protocolError("invalid close code")
	case !utf8.Valid(p[2:]):
		return invalidPayload("invalid UTF-8 in close reason")
	}
	return nil
}

// ParseClosePayload splits a close payload (as delivered by Reader) into code
// and reason. An empty payload yields CloseNoStatus.
func ParseClosePayload(p []byte) (code uint16, reason string) {
	if len(p) < 2 {
		return CloseNoStatus, ""
	}
	return binary.BigEndian.Uint16(p), string(p[2:])
}

// AppendClose appends a complete, unmasked close frame. The reason is cut to
// 123 bytes on a UTF-8 boundary so the frame stays a legal control frame;
// the caller must pass valid UTF-8. Code 0 produces an empty payload (no
// status), which is the only way to omit the code on the wire.
func AppendClose(dst []byte, code uint16, reason string) []byte {
	if code == 0 {
		return AppendHeader(dst, OpClose, true, false, 0)
	}
	if len(reason) > maxCloseReason {
		n := maxCloseReason
		for n > 0 && !utf8.RuneStart(reason[n]) {
			n--
		}
		reason = reason[:n]
	}
	dst = AppendHeader(dst, OpClose, true, false, 2+len(reason))
	dst = binary.BigEndian.AppendUint16(dst, code)
	return append(dst, reason...)
}
