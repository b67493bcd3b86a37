package core

import "crypto/tls"

// TLS returns the connection's TLS state, or nil when the client did not
// come over TLS. Protocols that authenticate after the transport is up
// (STOMP and MQTT CONNECT) pass it to the connect hook, so a client
// certificate can be the identity. By then the handshake has completed:
// the client's first bytes were read through it.
func (s *Session) TLS() *tls.ConnectionState {
	sc, ok := s.tr.(*streamConn)
	if !ok {
		return nil
	}
	tc, ok := sc.c.(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	return &st
}
