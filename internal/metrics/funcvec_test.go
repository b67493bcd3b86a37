package metrics

import (
	"sync"
	"testing"
)

func TestVecFuncExposition(t *testing.T) {
	r := NewRegistry()
	var mu sync.Mutex
	peers := map[string]float64{}
	r.GaugeVecFunc("herald_peer_rtt_seconds", "RTT.", "peer", func() map[string]float64 {
		mu.Lock()
		defer mu.Unlock()
		return map[string]float64{"b": peers["b"] / 2, "a": peers["a"] / 2}
	})
	r.CounterVecFunc("herald_peer_in_total", "In.", "peer", func() map[string]float64 {
		mu.Lock()
		defer mu.Unlock()
		return peers
	})
	peers["a"], peers["b"] = 4, 1
	expectOutput(t, r, "# HELP herald_peer_in_total In.\n# TYPE herald_peer_in_total counter\n"+
		"herald_peer_in_total{peer=\"a\"} 4\nherald_peer_in_total{peer=\"b\"} 1\n"+
		"# HELP herald_peer_rtt_seconds RTT.\n# TYPE herald_peer_rtt_seconds gauge\n"+
		"herald_peer_rtt_seconds{peer=\"a\"} 2\nherald_peer_rtt_seconds{peer=\"b\"} 0.5\n")

	// A peer that leaves leaves the output; a label value is escaped.
	delete(peers, "a")
	peers["c\"\n"] = 3
	r2 := NewRegistry()
	r2.CounterVecFunc("herald_peer_in_total", "In.", "peer", func() map[string]float64 { return peers })
	expectOutput(t, r2, "# HELP herald_peer_in_total In.\n# TYPE herald_peer_in_total counter\n"+
		"herald_peer_in_total{peer=\"b\"} 1\nherald_peer_in_total{peer=\"c\\\"\\n\"} 3\n")
}

func TestVecFuncRejectsBadRegistrations(t *testing.T) {
	for name, reg := range map[string]func(r *Registry){
		"nil func":  func(r *Registry) { r.GaugeVecFunc("herald_x", "x", "peer", nil) },
		"bad label": func(r *Registry) { r.GaugeVecFunc("herald_x", "x", "1peer", func() map[string]float64 { return nil }) },
		"taken name": func(r *Registry) {
			r.Gauge("herald_x", "x")
			r.CounterVecFunc("herald_x", "x", "peer", func() map[string]float64 { return nil })
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			reg(NewRegistry())
		}()
	}
}
