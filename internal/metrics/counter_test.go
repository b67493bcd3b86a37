package metrics

import (
	"math"
	"sync"
	"testing"
)

func TestCounterExposition(t *testing.T) {
	r := NewRegistry()
	c := r.Counter("herald_messages_total", "Messages delivered.")
	expectOutput(t, r, "# HELP herald_messages_total Messages delivered.\n# TYPE herald_messages_total counter\nherald_messages_total 0\n")
	c.Inc()
	c.Add(2)
	expectOutput(t, r, "# HELP herald_messages_total Messages delivered.\n# TYPE herald_messages_total counter\nherald_messages_total 3\n")
	c.Add(0.25)
	expectOutput(t, r, "# HELP herald_messages_total Messages delivered.\n# TYPE herald_messages_total counter\nherald_messages_total 3.25\n")
}

func TestCounterAdd(t *testing.T) {
	var c Counter // zero value is usable
	c.Add(-1)
	c.Add(0)
	c.Add(math.NaN())
	c.Add(math.Copysign(0, -1))
	c.Add(-math.Inf(1))
	if v := c.Value(); v != 0 {
		t.Fatalf("after ignored adds: %v", v)
	}
	c.Inc()
	c.Add(1.5)
	c.Add(10)
	if v := c.Value(); v != 12.5 {
		t.Fatalf("Value = %v, want 12.5", v)
	}
	c.Add(math.Inf(1))
	if v := c.Value(); !math.IsInf(v, 1) {
		t.Fatalf("Value = %v, want +Inf", v)
	}
}

// Integral counts are kept as integers, so they are exposed exactly even
// beyond float64's 2^53 integer precision.
func TestCounterLargeIntegral(t *testing.T) {
	r := NewRegistry()
	c := r.Counter("big_total", "x")
	c.Add(1<<53 - 1)
	c.Add(1<<53 - 1)
	c.Inc()
	expectOutput(t, r, "# HELP big_total x\n# TYPE big_total counter\nbig_total 18014398509481983\n")
	c.Add(1e300) // not representable as uint64: goes to the float part
	if v := c.Value(); v != 1e300 {
		t.Errorf("Value = %v", v)
	}
}

func TestCounterFunc(t *testing.T) {
	r := NewRegistry()
	var n float64
	r.CounterFunc("func_total", "Evaluated at scrape.", func() float64 { n++; return n })
	expectOutput(t, r, "# HELP func_total Evaluated at scrape.\n# TYPE func_total counter\nfunc_total 1\n")
	expectOutput(t, r, "# HELP func_total Evaluated at scrape.\n# TYPE func_total counter\nfunc_total 2\n")
}

func TestCounterConcurrentExact(t *testing.T) {
	const goroutines, iters = 8, 20000
	r := NewRegistry()
	c := r.Counter("c_total", "x")
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range iters {
				c.Inc()
				c.Add(2)
				c.Add(0.5) // exact in binary, so the float sum is exact too
			}
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); render(t, r) }()
	wg.Wait()
	if got, want := c.Value(), float64(goroutines*iters)*3.5; got != want {
		t.Fatalf("Value = %v, want %v", got, want)
	}
}

func TestCounterNoAllocs(t *testing.T) {
	c := NewRegistry().Counter("c", "x")
	if n := testing.AllocsPerRun(1000, func() { c.Inc(); c.Add(2); c.Add(0.5) }); n != 0 {
		t.Errorf("allocs = %v", n)
	}
}

func BenchmarkCounterInc(b *testing.B) {
	c := NewRegistry().Counter("c", "x")
	b.ReportAllocs()
	for b.Loop() {
		c.Inc()
	}
}

func BenchmarkCounterAddFloat(b *testing.B) {
	c := NewRegistry().Counter("c", "x")
	b.ReportAllocs()
	for b.Loop() {
		c.Add(0.5)
	}
}

func BenchmarkCounterIncParallel(b *testing.B) {
	c := NewRegistry().Counter("c", "x")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc()
		}
	})
}
