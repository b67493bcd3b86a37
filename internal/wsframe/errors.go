package wsframe

import (
	"errors"
	"strconv"
)

// CloseError is returned by Reader and ClientReader for a protocol violation.
// Code is the close code to send to the peer (1002, 1007, 1009), Reason a
// short human-readable text of at most 123 bytes, so it fits a close frame.
type CloseError struct {
	Code   uint16
	Reason string
}

func (e *CloseError) Error() string {
	return "websocket: close " + strconv.Itoa(int(e.Code)) + ": " + e.Reason
}

func protocolError(reason string) *CloseError {
	return &CloseError{Code: CloseProtocolError, Reason: reason}
}

func invalidPayload(reason string) *CloseError {
	return &CloseError{Code: CloseInvalidPayload, Reason: reason}
}

func tooBig(reason string) *CloseError {
	return &CloseError{Code: CloseMessageTooBig, Reason: reason}
}

// Inflate errors.
var (
	// ErrTooBig reports that decompressed output would exceed the limit.
	ErrTooBig = errors.New("wsframe: decompressed message exceeds limit")
	// ErrCorrupt reports malformed DEFLATE data.
	ErrCorrupt = errors.New("wsframe: invalid compressed data")
)

// Handshake errors returned by CheckRequest. They are meant to be sent as the
// body of an HTTP 400 response, except ErrBadVersion, which calls for a 426
// with "Sec-WebSocket-Version: 13".
var (
	ErrBadMethod      = errors.New("websocket: handshake method must be GET")
	ErrBadProto       = errors.New("websocket: handshake requires HTTP/1.1 or later")
	ErrNoConnUpgrade  = errors.New("websocket: 'Connection' header must contain 'upgrade'")
	ErrNoUpgradeToken = errors.New("websocket: 'Upgrade' header must contain 'websocket'")
	ErrBadVersion     = errors.New("websocket: unsupported 'Sec-WebSocket-Version' (want 13)")
	ErrBadKey         = errors.New("websocket: 'Sec-WebSocket-Key' must be base64 of 16 bytes")
)
