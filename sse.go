package herald

import (
	"net/http"

	"github.com/heraldhq/herald/internal/sse"
)

// EventsHandler serves Server-Sent Events: mount it (the binary uses
// /events) and open
//
//	new EventSource("/events?topic=orders/42&topic=chat/#")
//
// Each message arrives as an event whose data is the JSON object
// {"topic","seq","epoch","data",...} (the params of the JSON-RPC
// "message" notification) and whose id is a resume token: the client's
// position on every topic it follows. When the browser reconnects it
// sends that id as Last-Event-ID and the stream resumes from history with
// no gap; what history no longer holds is announced by an "event: missed"
// before the replay. The same token works as "since" in a WebSocket or
// long-poll subscribe, and in the since= parameter here.
//
// The stream is authenticated by the OnConnect hook (cookies, an
// Authorization header, or an access_token parameter, which it sees as
// "Authorization: Bearer ..."); every topic is authorized before the
// response starts, so refusals are 401/403. Cross-origin pages need
// AllowedOrigins. Over HTTP/1.1 an idle stream costs no goroutine: the
// connection is served by the same event loop as WebSocket.
func (s *Server) EventsHandler() http.Handler {
	return sse.New(sse.Config{Core: s.core})
}
