package herald

import (
	"net/http"

	"github.com/heraldhq/herald/internal/emulate"
	"github.com/heraldhq/herald/internal/native"
)

// PollHandler serves the native protocol (JSON-RPC, as over WebSocket
// with herald.v1) to clients that cannot open a WebSocket, by long
// polling; StreamHandler does the same with one long SSE response. The
// binary mounts them at /poll and /stream; herald.js falls back to them
// by itself. A session opened at one may be continued at the other.
//
//	POST   /poll                       → 201 {"session":ID,...}
//	POST   /poll?session=ID&seq=K      body: JSON-RPC messages; → 202 (K deduplicates retries)
//	GET    /poll?session=ID&ack=N      held until messages arrive → {"seq":F,"messages":[...]}
//	GET    /stream?session=ID          text/event-stream, one event per message, id = its number
//	DELETE /poll?session=ID            end the session
//
// Messages stay in the session's log until acknowledged (ack=N, or
// Last-Event-ID on a stream's reconnect), so a lost response is sent
// again. Session state lives in a store, not in any request, so no
// request has to reach the same handler (or, with a shared store, the
// same node) as the one before. A session with no request for
// IdleTimeout ends; polls are held for up to PingInterval. Unknown
// sessions get 404, ended ones 410, bodies over MaxMessageSize 413, each
// with a JSON error.
//
// With a DataDir (Open), sessions are kept there: after a restart, clean
// or a crash, a client continues its session with the same numbers, and
// nothing it had not acknowledged is lost (docs/durability.md).
func (s *Server) PollHandler() http.Handler { return s.clusterSessions(s.emulation().Poll(), false) }

// StreamHandler: see PollHandler.
func (s *Server) StreamHandler() http.Handler {
	return s.clusterSessions(s.emulation().Stream(), true)
}

func (s *Server) emulation() *emulate.Manager {
	s.emuOnce.Do(func() {
		s.emu = emulate.New(emulate.Config{Core: s.core, Adapter: native.RPC{}, Protocol: native.Subprotocol, Store: s.opts.durable.sessionStore()})
	})
	return s.emu
}
