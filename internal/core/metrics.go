package core

import "github.com/heraldhq/herald/internal/metrics"

type coreMetrics struct {
	accepted, rejected                      *metrics.Counter
	msgsIn, delivered, published, denied    *metrics.Counter
	bytesIn, bytesOut                       *metrics.Counter
	queueDrops, slowDisconnects, idleClosed *metrics.Counter
	requests                                *metrics.HistogramVec
}

func newCoreMetrics(r *metrics.Registry, c *Core) *coreMetrics {
	r.GaugeFunc("herald_connections", "Connections open now.", func() float64 { return float64(c.count.Load()) })
	return &coreMetrics{
		accepted:        r.Counter("herald_connections_total", "Connections accepted."),
		rejected:        r.Counter("herald_handshakes_rejected_total", "Connection attempts refused (bad handshake, origin, authentication, shutdown)."),
		msgsIn:          r.Counter("herald_messages_received_total", "Messages received from clients."),
		delivered:       r.Counter("herald_messages_delivered_total", "Publications queued to subscribers."),
		published:       r.Counter("herald_messages_published_total", "Messages published, by clients or the server."),
		denied:          r.Counter("herald_authorization_denied_total", "Subscribe or publish attempts the authorization hook refused."),
		bytesIn:         r.Counter("herald_bytes_received_total", "Bytes read from client connections."),
		bytesOut:        r.Counter("herald_bytes_sent_total", "Bytes written to client connections."),
		queueDrops:      r.Counter("herald_queue_dropped_total", "Publications dropped by a slow-consumer policy (drop-oldest, keep-latest)."),
		slowDisconnects: r.Counter("herald_slow_consumer_disconnects_total", "Connections closed because their outbound queue was full."),
		idleClosed:      r.Counter("herald_idle_timeouts_total", "Connections closed after the idle timeout."),
		requests: r.HistogramVec("herald_request_duration_seconds", "Request handler latency, from arrival to response queued.",
			metrics.LatencyBuckets(), "protocol"),
	}
}

// Delivered counts publications queued to subscribers.
func (c *Core) Delivered(n int) { c.m.delivered.Add(float64(n)) }

// Requests is the request latency histogram for a protocol.
func (c *Core) Requests(protocol string) *metrics.Histogram { return c.m.requests.With(protocol) }
