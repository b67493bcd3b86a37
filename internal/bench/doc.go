// Package bench is the engine of `herald bench`: a lean WebSocket load
// client and the scenarios that produce Herald's performance figures
// (docs: shared/design/PERFORMANCE.md).
//
// # Scenarios
//
//   - chat: reference 001's chat load test (N members, M broadcasts),
//     paced by a window of outstanding broadcasts; deliveries/s.
//   - fanout: herald.v1 subscribers of one topic and an open-loop
//     publisher; deliveries/s and end-to-end latency percentiles.
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
// Every report carries the CPU used by the client and, with --pid, by the
// server during the measurement, and the load average: on a shared
// machine those say what limited the figure.
package bench
