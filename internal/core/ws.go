package core

import (
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/wsframe"
)

// CloseError ends a session with a WebSocket close code.
type CloseError = wsframe.CloseError

// Close codes adapters use.
const (
	CloseNormal          = wsframe.CloseNormal
	CloseGoingAway       = wsframe.CloseGoingAway
	CloseProtocolError   = wsframe.CloseProtocolError
	CloseUnsupportedData = wsframe.CloseUnsupportedData
	CloseInvalidPayload  = wsframe.CloseInvalidPayload
	ClosePolicyViolation = wsframe.ClosePolicyViolation
	CloseMessageTooBig   = wsframe.CloseMessageTooBig
	CloseInternalError   = wsframe.CloseInternalError
	CloseTryAgainLater   = wsframe.CloseTryAgainLater
)

func closeFrame(code uint16, reason string) []byte {
	return wsframe.AppendClose(nil, code, reason)
}

// onFrame takes each WebSocket message the session's frame parser
// (s.wsin) completes: it answers control frames itself and hands data
// messages to the protocol.
func (s *Session) onFrame(op byte, payload []byte) error {
	switch op {
	case wsframe.OpPing:
		if s.Open() {
			s.Send(outq.Item{Own: wsframe.AppendFrame(nil, wsframe.OpPong, payload)})
		}
		return nil
	case wsframe.OpPong:
		return nil
	case wsframe.OpClose:
		if s.state.Load() != stateOpen {
			// Our close was answered: the handshake is complete.
			s.tr.Close()
			return nil
		}
		code, _ := wsframe.ParseClosePayload(payload)
		if code == wsframe.CloseNoStatus {
			code = CloseNormal
		}
		if pc, ok := s.proto.(PeerCloser); ok && !s.peerClosed.Swap(true) && pc.OnPeerClose(code) {
			return nil // the protocol closes when its output is done
		}
		s.CloseWith(code, "")
		return nil
	}
	if !s.Open() || s.peerClosed.Load() {
		return nil // closing: the peer's late data is discarded
	}
	s.core.m.msgsIn.Inc()
	if s.overRate() {
		return errMessageRate
	}
	return s.proto.OnMessage(op, payload)
}

// AppendFrame frames payload for the session's transport: a WebSocket
// frame of the given opcode, or the payload itself on a raw stream.
func (s *Session) AppendFrame(dst []byte, op byte, payload []byte) []byte {
	if !s.ws {
		return append(dst, payload...)
	}
	return wsframe.AppendFrame(dst, op, payload)
}
