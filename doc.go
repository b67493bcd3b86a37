// Package herald is an embeddable realtime gateway: WebSocket connections
// on an event-driven core (an idle connection costs a few KiB and no
// goroutine), client-initiated request/response with correlation ids, and
// server-initiated publish/subscribe on one topic space shared by every
// protocol.
//
// # Embedding
//
// Create a Server, register handlers, mount it in your mux, publish from
// anywhere:
//
//	srv := herald.New(herald.Options{})
//	srv.Handle("greet", func(ctx context.Context, p json.RawMessage) (any, error) {
//		c, _ := herald.ClientFromContext(ctx) // identity, address, handshake headers
//		return "hello " + c.RemoteAddr, nil
//	})
//	mux.Handle("/ws", srv) // "GET /ws" if the mux also has "GET /" routes
//	srv.Publish(ctx, "news/sport", []byte("kick-off"))
//	defer srv.Shutdown(ctx)
//
// # Protocols
//
// The WebSocket subprotocol picks the protocol:
//
//   - "herald.v1": JSON-RPC 2.0. Requests carry an id that the response
//     echoes; batches work. Built-in methods: subscribe {topic, since},
//     unsubscribe {topic}, publish {topic, data, headers}. Publications
//     arrive as "message" notifications with topic, seq, epoch and data;
//     a "missed" notification says when history could not fill a gap.
//   - no subprotocol: plain text. Each text message goes to the
//     HandleText handler and its reply comes back as text.
//   - "chat": every text message is broadcast to every member of the
//     room (the topic "chat").
//
// # Without WebSocket
//
// Where WebSockets are blocked, EventsHandler serves Server-Sent Events,
// and StreamHandler and PollHandler serve herald.v1 over HTTP streaming
// and long polling, in sessions whose state lives in a store rather than
// in any request. ClientJS serves herald.js, the JavaScript client that
// picks the transport by itself. One resume token (the SSE event id, or
// subscribe's "since" as a string) resumes every transport.
//
// # Topics
//
// Topic names are "/"-separated levels; filters use MQTT wildcards: "+"
// matches one level, "#" the rest. Every topic keeps a bounded history with
// a sequence number and an epoch, so a client resumes after a reconnect
// with subscribe's "since" and is told plainly when messages were missed.
//
// # Authentication and permissions
//
// Options.Authenticator (NewJWTAuthenticator, or an AuthenticatorFunc of
// your own) authenticates every connection once, on every protocol: the
// WebSocket and gateway handshakes, SSE and long-poll requests, STOMP and
// MQTT CONNECT. The Identity it returns may carry Permissions (topic
// patterns to publish and subscribe to, methods to call), enforced alike
// on every protocol, and an expiry: the connection ends then unless the
// client refreshed its token in band. Without an authenticator every
// client is anonymous (development, same-origin public data). See
// docs/security.md.
//
// # Guarantees and limits
//
// Publishers never write to sockets: each connection has a bounded
// outbound queue, flushed with one vectored write per batch, and a
// slow-consumer policy (Disconnect, DropOldest, KeepLatest) for when it is
// full. A published message is encoded once per protocol, not once per
// subscriber. Handlers run on a bounded worker pool, in order per
// connection, never on the I/O loop. Cross-origin browsers are refused
// unless allowed; message sizes, queues and requests in flight are
// bounded.
package herald
