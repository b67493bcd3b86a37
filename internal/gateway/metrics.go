package gateway

import "github.com/heraldhq/herald/internal/metrics"

// gwMetrics are the gateway's metric families, registered once per
// registry; routes hold their children.
type gwMetrics struct {
	open     *metrics.GaugeVec
	total    *metrics.CounterVec
	bytes    *metrics.CounterVec
	refused  *metrics.CounterVec
	errors   *metrics.CounterVec
	paused   *metrics.CounterVec
	connects *metrics.HistogramVec
}

func newMetrics(r *metrics.Registry) *gwMetrics {
	return &gwMetrics{
		open:     r.GaugeVec("herald_gateway_connections", "Gateway connections open now.", "route"),
		total:    r.CounterVec("herald_gateway_connections_total", "Gateway connections accepted.", "route"),
		bytes:    r.CounterVec("herald_gateway_bytes_total", "Bytes relayed, by direction (to_backend, to_client).", "route", "direction"),
		refused:  r.CounterVec("herald_gateway_refused_total", "Gateway handshakes refused, by reason (handshake, origin, subprotocol, unauthorized, forbidden, limit).", "route", "reason"),
		errors:   r.CounterVec("herald_gateway_errors_total", "Gateway connections ended by a failure, by reason (connect, connect_timeout, backend_lost, idle_timeout, bad_payload).", "route", "reason"),
		paused:   r.CounterVec("herald_gateway_backpressure_total", "Times one side was paused for the other, by the side paused (client, backend).", "route", "side"),
		connects: r.HistogramVec("herald_gateway_connect_seconds", "Time to connect to the backend.", metrics.LatencyBuckets(), "route"),
	}
}

// routeMetrics are one route's children, looked up once.
type routeMetrics struct {
	open                        *metrics.Gauge
	total                       *metrics.Counter
	toBackend, toClient         *metrics.Counter
	pausedClient, pausedBackend *metrics.Counter
	connect                     *metrics.Histogram
	g                           *gwMetrics
	name                        string
}

func (g *gwMetrics) route(name string) routeMetrics {
	return routeMetrics{
		open:          g.open.With(name),
		total:         g.total.With(name),
		toBackend:     g.bytes.With(name, "to_backend"),
		toClient:      g.bytes.With(name, "to_client"),
		pausedClient:  g.paused.With(name, "client"),
		pausedBackend: g.paused.With(name, "backend"),
		connect:       g.connects.With(name),
		g:             g,
		name:          name,
	}
}

func (m *routeMetrics) refused(reason string) { m.g.refused.With(m.name, reason).Inc() }
func (m *routeMetrics) failed(reason string)  { m.g.errors.With(m.name, reason).Inc() }
