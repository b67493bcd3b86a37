package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/heraldhq/herald/internal/metrics"
)

func Example() {
	reg := metrics.NewRegistry()
	conns := reg.Gauge("herald_connections", "Open client connections.")
	msgs := reg.CounterVec("herald_messages_total", "Messages delivered.", "transport")
	lat := reg.Histogram("herald_publish_seconds", "Publish latency.", []float64{0.001, 0.01, 0.1})

	ws := msgs.With("websocket") // cache children on hot paths
	conns.Inc()
	ws.Inc()
	ws.Inc()
	msgs.With("sse").Inc()
	lat.Observe(0.004)
	lat.Observe(0.25)

	reg.WriteTo(os.Stdout)
	// Output:
	// # HELP herald_connections Open client connections.
	// # TYPE herald_connections gauge
	// herald_connections 1
	// # HELP herald_messages_total Messages delivered.
	// # TYPE herald_messages_total counter
	// herald_messages_total{transport="sse"} 1
	// herald_messages_total{transport="websocket"} 2
	// # HELP herald_publish_seconds Publish latency.
	// # TYPE herald_publish_seconds histogram
	// herald_publish_seconds_bucket{le="0.001"} 0
	// herald_publish_seconds_bucket{le="0.01"} 1
	// herald_publish_seconds_bucket{le="0.1"} 1
	// herald_publish_seconds_bucket{le="+Inf"} 2
	// herald_publish_seconds_sum 0.254
	// herald_publish_seconds_count 2
}

func ExampleRegistry_Handler() {
	reg := metrics.NewRegistry()
	metrics.RuntimeMetrics(reg)
	reg.Counter("herald_up_total", "Example.").Inc()

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg.Handler())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output:
	// 200 text/plain; version=0.0.4; charset=utf-8
}
