// Package bench is the engine of `herald bench`: a lean WebSocket load
// client and the scenarios that produce Herald's performance figures
// (docs: shared/design/PERFORMANCE.md).
//
// # Scenarios
//
//   - chat: reference 001's chat load test (N members, M broadcasts),
//     paced by a window of outstanding broadcasts, against Herald or any
//     WebSocket broadcast server; deliveries/s and latency.
//   - fanout: subscribers of one topic and an open-loop publisher, over
//     herald.v1, STOMP 1.2 (TCP or WebSocket) or MQTT 3.1.1 (TCP or
//     WebSocket), against Herald or any broker; deliveries/s and
//     end-to-end latency percentiles from timestamps in the payload.
//     With --workers the subscribers live in worker processes.
//   - sse: fanout with Server-Sent Events subscribers.
//   - echo: closed-loop round trips against any WebSocket echo server.
//   - rpc: JSON-RPC request/response, closed loop or open loop at a fixed
//     rate with latency from the scheduled send time; req/s and
//     percentiles.
//   - idle: idle subscribed connections, optionally spread over worker
//     processes and source addresses; server RSS per connection.
//   - serve: an embedded Herald server with an "echo" method, for the
//     other scenarios.
//   - table: Markdown table of JSON reports.
//
// # The client
//
// On the 2-core machine the figures come from, the load client competes
// with the server for CPU, so every message must be cheap to send and to
// receive. Each connection is a net.Conn opened with a hand-written
// upgrade request (handshake.go), one reader goroutine with a fixed read
// buffer feeding wsframe.ClientReader (conn.go), and a write path that
// masks into a reused buffer with a fixed key. Scenarios read the few
// JSON fields they need by scanning (jsonscan.go), count messages in
// reader-local variables and publish the counts once per socket read
// (counter.go), and record latencies in per-connection log-linear
// histograms (histogram.go) merged at the end: receiving a message
// allocates nothing.
//
// Reports are text, one JSON line (--json, with the throughput second by
// second) and a chart (--report FILE.svg or .html, chart.go).
//
// Every report carries the CPU used by the client and, with --pid, by the
// server during the measurement, and the load average: on a shared
// machine those say what limited the figure.
package bench
