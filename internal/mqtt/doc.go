// Package mqtt is Herald's MQTT adapter: MQTT 3.1, 3.1.1 and 5.0 over
// WebSocket (subprotocols "mqtt" and "mqttv3.1", binary messages) and over
// TCP, on Herald's one topic space, so MQTT clients share topics,
// permissions and payloads with every other protocol.
//
// # Files
//
//   - reader.go, decode.go: the packet-reading boundary. reader frames the
//     byte stream (remaining length, size limit before buffering); the
//     codec, mochi-mqtt's packets package (docs/adr/0006-mqtt-codec.md),
//     decodes each packet; decode never panics and adds the checks the
//     codec lacks. Fuzzed by FuzzReadPacket.
//   - encode.go: outbound packets. Control packets come from the codec;
//     PUBLISH is assembled from the codec's property blocks so that the
//     payload (and a QoS 0 packet whole) is encoded once per message and
//     shared by every subscriber.
//   - conn.go: a network connection: I/O-loop side, the inbound queue
//     drained on the session's mailbox, keep-alive, closing.
//   - connect.go: CONNECT validation, authentication, session creation,
//     resumption and takeover, wills.
//   - session.go, deque.go: sessions, which outlive connections: their
//     subscriptions, QoS 1/2 messages in flight and queued, receive
//     window, expiry.
//   - publish.go: inbound PUBLISH and the acknowledgement flows both ways.
//   - subscribe.go, shared.go: SUBSCRIBE/UNSUBSCRIBE, retained messages
//     on subscribe, shared subscriptions.
//   - rpc.go: MQTT 5 request/response onto the application's handlers.
//   - sys.go: $SYS/broker statistics.
//   - adapter.go, codes.go: the adapter (options, session registry, timed
//     work, retained routing) and the reason codes.
//
// # Concurrency
//
// OnMessage runs on the I/O loop; everything a packet causes runs on the
// connection's mailbox, one packet at a time. Publications arrive through
// the router (session.Deliver, group.Deliver) under its locks: they only
// queue. Lock order: Adapter.mu, conn.mu, session.mu; router locks,
// group.mu, session.mu. Nothing holding a session's lock calls the
// router.
//
// docs/mqtt.md is the user's view; docs/mqtt-conformance.md lists the
// normative statements not met.
package mqtt
