package metrics

import (
	"math"
	"sync"
	"testing"
)

func TestGaugeExposition(t *testing.T) {
	r := NewRegistry()
	g := r.Gauge("herald_connections", "Open connections.")
	const head = "# HELP herald_connections Open connections.\n# TYPE herald_connections gauge\n"
	expectOutput(t, r, head+"herald_connections 0\n")
	for _, tc := range []struct {
		set  float64
		want string
	}{
		{42, "42"}, {-3, "-3"}, {0.125, "0.125"}, {2e9, "2000000000"},
		{math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"}, {math.NaN(), "NaN"},
	} {
		g.Set(tc.set)
		expectOutput(t, r, head+"herald_connections "+tc.want+"\n")
	}
}

func TestGaugeOps(t *testing.T) {
	var g Gauge
	g.Inc()
	g.Inc()
	g.Dec()
	g.Add(2.5)
	g.Add(-10)
	if v := g.Value(); v != -6.5 {
		t.Fatalf("Value = %v, want -6.5", v)
	}
	g.Set(7)
	if v := g.Value(); v != 7 {
		t.Fatalf("Value = %v, want 7", v)
	}
}

func TestGaugeFunc(t *testing.T) {
	r := NewRegistry()
	v := 1.5
	r.GaugeFunc("fn", "Evaluated at scrape.", func() float64 { return v })
	expectOutput(t, r, "# HELP fn Evaluated at scrape.\n# TYPE fn gauge\nfn 1.5\n")
	v = -4
	expectOutput(t, r, "# HELP fn Evaluated at scrape.\n# TYPE fn gauge\nfn -4\n")
}

func TestGaugeConcurrentExact(t *testing.T) {
	const goroutines, iters = 8, 20000
	g := NewRegistry().Gauge("g", "x")
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range iters {
				if i%2 == 0 {
					g.Inc()
					g.Add(0.25)
				} else {
					g.Dec()
					g.Add(0.75)
				}
			}
		}()
	}
	wg.Wait()
	if got, want := g.Value(), float64(goroutines*iters)*0.5; got != want {
		t.Fatalf("Value = %v, want %v", got, want)
	}
}

func TestGaugeNoAllocs(t *testing.T) {
	g := NewRegistry().Gauge("g", "x")
	if n := testing.AllocsPerRun(1000, func() { g.Inc(); g.Dec(); g.Add(1.5); g.Set(3) }); n != 0 {
		t.Errorf("allocs = %v", n)
	}
}

func BenchmarkGaugeAdd(b *testing.B) {
	g := NewRegistry().Gauge("g", "x")
	b.ReportAllocs()
	for b.Loop() {
		g.Add(1)
	}
}
