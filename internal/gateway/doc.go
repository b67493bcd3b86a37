// Package gateway splices WebSocket clients to TCP services: each
// configured route is a WebSocket endpoint whose connections are joined,
// full duplex, to a new TCP connection to that route's backend (reference
// 004, Kaazing Gateway: browsers reaching IMAP, Jabber, STOMP or MQTT
// brokers). The backend is always the route's: no client chooses an
// address, so the gateway is never an open proxy.
//
// # Framing
//
// Binary messages carry raw bytes both ways (subprotocol "binary", none,
// or one of the route's own, such as "mqtt", which the client's protocol
// requires to be echoed). Subprotocol "base64", as websockify offers it,
// carries base64 text for clients without binary support. Message
// boundaries mean nothing: the backend sees a byte stream, and each read
// from the backend becomes one message.
//
// # Costs
//
// Both sides live on the core's epoll loop: the client is an ordinary
// core session, the backend socket is registered with the same poller
// (core.Attach). An idle gateway connection therefore holds no goroutine,
// no timer and no buffer: a splice struct, the backend's poll.Conn and
// the session, a little over a KiB with the kernel's socket buffers on
// top. A goroutine exists only while connecting (the dial, bounded by the
// connect timeout) and, for TLS backends, which epoll cannot serve, two
// per connection (a reader and a writer, about 8 KiB of stack plus a 32
// KiB read buffer each connection): TLS to the backend is the expensive
// option.
//
// # Backpressure
//
// Nothing is dropped and every buffer is bounded:
//   - client to backend: a message is written to the backend socket
//     straight from the loop, without blocking; what the socket does not
//     take is kept, and the client's reads are paused until the backend
//     drains it (the kernel's window then slows the client). At most one
//     read's worth of messages plus one message is held.
//   - backend to client: each backend read is queued on the session; when
//     the session's backlog passes the route's Buffer (or half the queue's
//     frame limit), the backend's reads are paused until the flush has
//     written it.
//
// Writes from the loop are deliberate: a non-blocking write of bytes just
// read is the whole of a splice's work, and a hop through a worker would
// add a copy and latency for nothing. They never wait.
//
// # Closing
//
// A client close frame half-closes the backend (shutdown SHUT_WR, after
// the bytes still pending) and the backend's output keeps flowing to the
// client until the backend ends its side; then the client gets close
// 1000. A backend that ends first gets its remaining output relayed, then
// close 1000. A backend that cannot be reached gives close 1014
// "backend unavailable"; one that resets gives 1014 "backend connection
// lost"; no bytes either way for the idle timeout gives 1001 "idle
// timeout".
package gateway
