// Package stomp is Herald's STOMP adapter: versions 1.0, 1.1 and 1.2,
// over WebSocket (subprotocols v10.stomp, v11.stomp, v12.stomp and stomp)
// and over TCP, on Herald's one topic space.
//
// # Files
//
//   - frame.go, escape.go, parse.go: the codec. The parser is incremental
//     (a frame may arrive split anywhere), bounded by Limits, and fuzzed.
//   - dest.go: destinations. /topic/a.b.c is the canonical topic a/b/c;
//     /queue/x a point-to-point queue (internal/queue); /temp-queue/x a
//     reply destination private to the session; the RPC prefix (/rpc/ by
//     default) calls the application's request handlers.
//   - conn.go: a session's state and the I/O-loop side: parse, hand the
//     frames to the session's mailbox, never block.
//   - connect.go, send.go, subscribe.go, ack.go, tx.go, rpc.go: one frame
//     type each, run on the mailbox.
//   - deliver.go: MESSAGE frames. The part every subscriber shares is
//     encoded once per message and version; only the subscription, ids
//     and the WebSocket frame header are per subscriber.
//   - heartbeat.go: heart-beats both ways, driven by the core's ticker.
//
// docs/stomp.md is the user's view.
package stomp
