package metrics

import (
	"math"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"
)

func TestHistogramExposition(t *testing.T) {
	r := NewRegistry()
	h := r.Histogram("herald_publish_seconds", "Publish latency.", []float64{0.005, 0.5, 1, 10})
	const head = "# HELP herald_publish_seconds Publish latency.\n# TYPE herald_publish_seconds histogram\n"
	expectOutput(t, r, head+`herald_publish_seconds_bucket{le="0.005"} 0
herald_publish_seconds_bucket{le="0.5"} 0
herald_publish_seconds_bucket{le="1"} 0
herald_publish_seconds_bucket{le="10"} 0
herald_publish_seconds_bucket{le="+Inf"} 0
herald_publish_seconds_sum 0
herald_publish_seconds_count 0
`)
	// Bounds are inclusive (v <= le); buckets are cumulative.
	for _, v := range []float64{0.001, 0.005, 0.25, 0.5, 0.75, 1, 20, -3, math.Inf(1), math.NaN()} {
		h.Observe(v)
	}
	expectOutput(t, r, head+`herald_publish_seconds_bucket{le="0.005"} 3
herald_publish_seconds_bucket{le="0.5"} 5
herald_publish_seconds_bucket{le="1"} 7
herald_publish_seconds_bucket{le="10"} 7
herald_publish_seconds_bucket{le="+Inf"} 9
herald_publish_seconds_sum +Inf
herald_publish_seconds_count 9
`)
}

func TestHistogramSumAndCount(t *testing.T) {
	r := NewRegistry()
	h := r.Histogram("h", "", []float64{1, 2})
	h.Observe(0.5)
	h.Observe(1.5)
	h.Observe(1.5)
	h.Observe(5)
	expectOutput(t, r, `# TYPE h histogram
h_bucket{le="1"} 1
h_bucket{le="2"} 3
h_bucket{le="+Inf"} 4
h_sum 8.5
h_count 4
`)
	// Scraping folds the cold buffer back: totals keep accumulating.
	h.Observe(1)
	expectOutput(t, r, `# TYPE h histogram
h_bucket{le="1"} 2
h_bucket{le="2"} 4
h_bucket{le="+Inf"} 5
h_sum 9.5
h_count 5
`)
}

func TestHistogramBuckets(t *testing.T) {
	r := NewRegistry()
	// Trailing +Inf is dropped (it is always exposed), -Inf is a legal bound.
	r.Histogram("a", "", []float64{math.Inf(-1), 1, math.Inf(1)}).Observe(-5)
	expectOutput(t, r, `# TYPE a histogram
a_bucket{le="-Inf"} 0
a_bucket{le="1"} 1
a_bucket{le="+Inf"} 1
a_sum -5
a_count 1
`)
	r = NewRegistry()
	r.Histogram("b", "", []float64{})
	r.Histogram("c", "", []float64{math.Inf(1)})
	expectOutput(t, r, "# TYPE b histogram\nb_bucket{le=\"+Inf\"} 0\nb_sum 0\nb_count 0\n"+
		"# TYPE c histogram\nc_bucket{le=\"+Inf\"} 0\nc_sum 0\nc_count 0\n")

	r = NewRegistry()
	r.Histogram("d", "", nil)
	expectOutput(t, r, "# TYPE d histogram\n"+histZero("d"))

	for _, bad := range [][]float64{{1, 1}, {2, 1}, {math.NaN()}, {1, math.NaN()}, {math.Inf(1), 5}, {1, math.Inf(1), math.Inf(1)}} {
		mustPanic(t, "histogram \"e\"", func() { NewRegistry().Histogram("e", "", bad) })
		mustPanic(t, "histogram \"e\"", func() { NewRegistry().HistogramVec("e", "", bad, "l") })
	}
}

func TestDefaultBuckets(t *testing.T) {
	want := []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	if !slices.Equal(DefBuckets(), want) || !slices.Equal(LatencyBuckets(), want) {
		t.Fatalf("DefBuckets = %v", DefBuckets())
	}
	DefBuckets()[0] = 42 // callers get copies
	LatencyBuckets()[0] = 42
	if DefBuckets()[0] != 0.0001 || LatencyBuckets()[0] != 0.0001 {
		t.Fatal("default buckets are shared")
	}
	// The histogram keeps its own copy too.
	b := []float64{1, 2}
	r := NewRegistry()
	h := r.Histogram("h", "", b)
	b[0] = 100
	h.Observe(1)
	expectOutput(t, r, "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n")
}

// The binary-search path (> 32 bounds) must agree with a reference.
func TestHistogramManyBuckets(t *testing.T) {
	var bounds []float64
	for i := range 100 {
		bounds = append(bounds, float64(i)*1.5-20)
	}
	m := newHistMeta("x", bounds)
	for v := -25.0; v < 140; v += 0.25 {
		want := sort.Search(len(bounds), func(i int) bool { return bounds[i] >= v })
		if got := m.bucket(v); got != want {
			t.Fatalf("bucket(%v) = %d, want %d", v, got, want)
		}
	}
	r := NewRegistry()
	h := r.Histogram("many", "", bounds)
	for v := -25.0; v < 140; v += 0.25 {
		h.Observe(v)
	}
	render(t, r) // grammar + cumulative checks
}

func TestObserveDuration(t *testing.T) {
	r := NewRegistry()
	h := r.Histogram("d", "", []float64{3600})
	start := time.Now().Add(-1500 * time.Millisecond)
	h.ObserveDuration(start)
	buckets := make([]uint64, 1)
	count, sum := h.snapshot(buckets)
	if count != 1 || buckets[0] != 1 || sum < 1.5 || sum > 60 {
		t.Fatalf("count=%d bucket=%d sum=%v", count, buckets[0], sum)
	}
}

// TestHistogramConcurrent observes from many goroutines while scraping and
// checks that every scrape is consistent and the final totals exact.
func TestHistogramConcurrent(t *testing.T) {
	const goroutines, iters = 8, 10000
	r := NewRegistry()
	h := r.Histogram("h", "", []float64{1, 2, 3})
	// Each value identifies its bucket, so a consistent snapshot satisfies
	// sum == 1*b[0] + 2*b[1] + 3*b[2] + 5*(count-b[0]-b[1]-b[2]) exactly.
	values := []float64{1, 2, 3, 5}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range iters {
				h.Observe(values[(g+i)%4])
			}
		}()
	}
	stop := make(chan struct{})
	scraped := make(chan int)
	go func() {
		n := 0
		buckets := make([]uint64, 3)
		for {
			select {
			case <-stop:
				scraped <- n
				return
			default:
			}
			count, sum := h.snapshot(buckets)
			finite := buckets[0] + buckets[1] + buckets[2]
			if finite > count {
				t.Errorf("buckets %v exceed count %d", buckets, count)
				<-stop
				scraped <- n
				return
			}
			if want := float64(buckets[0] + 2*buckets[1] + 3*buckets[2] + 5*(count-finite)); sum != want {
				t.Errorf("inconsistent snapshot: buckets %v count %d sum %v, want sum %v", buckets, count, sum, want)
				<-stop
				scraped <- n
				return
			}
			render(t, r) // also checks +Inf == _count and cumulativeness
			n++
		}
	}()
	wg.Wait()
	close(stop)
	t.Logf("%d concurrent scrapes", <-scraped)

	e, err := parseExposition(render(t, r))
	if err != nil {
		t.Fatal(err)
	}
	const n = goroutines * iters
	for _, tc := range []struct {
		le   string
		want float64
	}{{"1", n / 4}, {"2", n / 2}, {"3", 3 * n / 4}, {"+Inf", n}} {
		if v, _ := e.value("h_bucket", "le", tc.le); v != tc.want {
			t.Errorf("le=%s: %v, want %v", tc.le, v, tc.want)
		}
	}
	if v, _ := e.value("h_count"); v != n {
		t.Errorf("count %v, want %d", v, n)
	}
	if v, _ := e.value("h_sum"); v != n/4*(1+2+3+5) {
		t.Errorf("sum %v, want %d", v, n/4*11)
	}
}

func TestHistogramNoAllocs(t *testing.T) {
	h := NewRegistry().Histogram("h", "x", nil)
	start := time.Now()
	if n := testing.AllocsPerRun(1000, func() { h.Observe(0.3); h.ObserveDuration(start) }); n != 0 {
		t.Errorf("allocs = %v", n)
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	h := NewRegistry().Histogram("h", "x", LatencyBuckets())
	b.ReportAllocs()
	v := 0.0
	for b.Loop() {
		h.Observe(v)
		v += 0.001
		if v > 12 {
			v = 0
		}
	}
}

func BenchmarkHistogramObserveParallel(b *testing.B) {
	h := NewRegistry().Histogram("h", "x", LatencyBuckets())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Observe(0.003)
		}
	})
}
