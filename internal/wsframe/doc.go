// Package wsframe is a strict RFC 6455 WebSocket frame codec for the server
// side, with RFC 7692 permessage-deflate (no context takeover).
//
// It is built for connections driven by an event loop rather than a
// goroutine per connection: [Reader.Feed] accepts the byte stream in
// arbitrary chunks, delivers complete messages through a callback, and holds
// no heap buffer while nothing is pending, so an idle connection costs only
// the size of the Reader struct itself (a few hundred bytes).
//
// Every protocol violation is reported as a [*CloseError] carrying the close
// code the server must send before dropping the connection.
//
// Writing is append-style ([AppendFrame], [AppendHeader], [AppendClose]) so
// callers control buffers; [Compress] output does not depend on any
// per-connection state and can be shared by every subscriber of a broadcast.
//
// The package also contains the client-side pieces needed by tests and load
// tools: [AppendMaskedFrame] and [ClientReader], which expects unmasked
// frames.
package wsframe
