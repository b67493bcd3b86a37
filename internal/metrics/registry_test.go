package metrics

import (
	"strconv"
	"sync"
	"testing"
)

func TestMetricNameValidation(t *testing.T) {
	for _, name := range []string{"a", "A", "_", ":", "a:b_c9", "herald_messages_total", "__name", ":a:"} {
		r := NewRegistry()
		r.Counter(name, "x") // must not panic
	}
	for _, name := range []string{"", "9a", "a-b", "a b", "a.b", "é", "a{b}", "a\n", "a\"", "-"} {
		mustPanic(t, "invalid metric name", func() { NewRegistry().Counter(name, "x") })
		mustPanic(t, "invalid metric name", func() { NewRegistry().Gauge(name, "x") })
		mustPanic(t, "invalid metric name", func() { NewRegistry().GaugeFunc(name, "x", func() float64 { return 0 }) })
		mustPanic(t, "invalid metric name", func() { NewRegistry().CounterFunc(name, "x", func() float64 { return 0 }) })
		mustPanic(t, "invalid metric name", func() { NewRegistry().Histogram(name, "x", nil) })
		mustPanic(t, "invalid metric name", func() { NewRegistry().CounterVec(name, "x", "l") })
		mustPanic(t, "invalid metric name", func() { NewRegistry().GaugeVec(name, "x", "l") })
		mustPanic(t, "invalid metric name", func() { NewRegistry().HistogramVec(name, "x", nil, "l") })
	}
}

func TestLabelNameValidation(t *testing.T) {
	r := NewRegistry()
	for i, l := range []string{"a", "_", "_a", "A9", "le"} {
		r.CounterVec("ok"+strconv.Itoa(i), "x", l)
	}
	for _, l := range []string{"", "9", "a:b", "a-b", "é", "a b"} {
		mustPanic(t, "invalid label name", func() { NewRegistry().CounterVec("m", "x", l) })
		mustPanic(t, "invalid label name", func() { NewRegistry().GaugeVec("m", "x", "ok", l) })
		mustPanic(t, "invalid label name", func() { NewRegistry().HistogramVec("m", "x", nil, l) })
	}
	mustPanic(t, "reserved prefix", func() { NewRegistry().CounterVec("m", "x", "__name__") })
	mustPanic(t, "reserved prefix", func() { NewRegistry().GaugeVec("m", "x", "__") })
	mustPanic(t, "duplicate label name", func() { NewRegistry().CounterVec("m", "x", "a", "b", "a") })
	mustPanic(t, `"le" is reserved`, func() { NewRegistry().HistogramVec("m", "x", nil, "a", "le") })
}

func TestDuplicateAndCollidingNames(t *testing.T) {
	r := NewRegistry()
	r.Counter("dup", "x")
	mustPanic(t, `duplicate metric name "dup"`, func() { r.Counter("dup", "x") })
	mustPanic(t, `duplicate metric name "dup"`, func() { r.Gauge("dup", "x") })
	mustPanic(t, `duplicate metric name "dup"`, func() { r.GaugeFunc("dup", "x", func() float64 { return 0 }) })
	mustPanic(t, `duplicate metric name "dup"`, func() { r.CounterVec("dup", "x", "a") })
	mustPanic(t, `duplicate metric name "dup"`, func() { r.HistogramVec("dup", "x", nil) })

	// A histogram h owns h_bucket, h_sum and h_count, in both orders.
	r.Histogram("h", "x", nil)
	for _, n := range []string{"h_bucket", "h_sum", "h_count"} {
		mustPanic(t, `collides with metric "h"`, func() { r.Gauge(n, "x") })
	}
	r.Counter("q_count", "x")
	mustPanic(t, `series "q_count" of metric "q" collides with metric "q_count"`, func() { r.Histogram("q", "x", nil) })
	r.Histogram("h2_bucket", "x", nil)
	mustPanic(t, `collides with metric "h2_bucket"`, func() { r.HistogramVec("h2", "x", nil, "a") })

	// Failed registrations leave nothing behind.
	r.Gauge("q", "x")
	r.Gauge("h2", "x")
	expectOutput(t, r, ""+
		"# HELP dup x\n# TYPE dup counter\ndup 0\n"+
		"# HELP h x\n# TYPE h histogram\n"+histZero("h")+
		"# HELP h2 x\n# TYPE h2 gauge\nh2 0\n"+
		"# HELP h2_bucket x\n# TYPE h2_bucket histogram\n"+histZero("h2_bucket")+
		"# HELP q x\n# TYPE q gauge\nq 0\n"+
		"# HELP q_count x\n# TYPE q_count counter\nq_count 0\n")
}

// histZero is the sample block of an empty histogram with DefBuckets.
func histZero(name string) string {
	s := ""
	for _, b := range DefBuckets() {
		s += name + `_bucket{le="` + string(appendFloat(nil, b)) + `"} 0` + "\n"
	}
	return s + name + "_bucket{le=\"+Inf\"} 0\n" + name + "_sum 0\n" + name + "_count 0\n"
}

func TestNilFuncPanics(t *testing.T) {
	mustPanic(t, "nil func", func() { NewRegistry().GaugeFunc("g", "x", nil) })
	mustPanic(t, "nil func", func() { NewRegistry().CounterFunc("c", "x", nil) })
}

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := NewRegistry(), NewRegistry()
	a.Counter("same", "x").Inc()
	b.Counter("same", "x").Add(2)
	expectOutput(t, a, "# HELP same x\n# TYPE same counter\nsame 1\n")
	expectOutput(t, b, "# HELP same x\n# TYPE same counter\nsame 2\n")
}

// TestConcurrentRegisterAndScrape exercises registration, updates and
// scrapes at the same time (meaningful under -race).
func TestConcurrentRegisterAndScrape(t *testing.T) {
	r := NewRegistry()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				c := r.Counter("c_"+strconv.Itoa(g)+"_"+strconv.Itoa(i), "x")
				c.Inc()
				r.Histogram("h_"+strconv.Itoa(g)+"_"+strconv.Itoa(i), "x", []float64{1}).Observe(0.5)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			render(t, r)
		}
	}()
	wg.Wait()
	e, err := parseExposition(render(t, r))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.types) != 200 {
		t.Errorf("got %d families, want 200", len(e.types))
	}
}
