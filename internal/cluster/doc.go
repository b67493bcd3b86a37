// Package cluster joins a Herald node to others over NATS: either by
// running an embedded NATS server routed to its peers' (Config.Listen and
// Config.Routes), or by connecting to an external NATS cluster
// (Config.URL). Either way the node gets a broker.NATS for its router and
// a Status for health checks and metrics.
//
// Without a Config (IsZero) nothing here runs: a single node uses the
// in-process broker and pays nothing for clustering.
package cluster
