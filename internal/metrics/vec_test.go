package metrics

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

func TestCounterVecExposition(t *testing.T) {
	r := NewRegistry()
	v := r.CounterVec("herald_messages_total", "Messages.", "transport", "code")
	v.With("ws", "200").Add(3)
	v.With("sse", "500").Inc()
	v.With("sse", "200").Inc()
	v.With("sse", "200").Inc()
	v.With("ws", "") // created but never incremented: exposed as 0
	expectOutput(t, r, `# HELP herald_messages_total Messages.
# TYPE herald_messages_total counter
herald_messages_total{transport="sse",code="200"} 2
herald_messages_total{transport="sse",code="500"} 1
herald_messages_total{transport="ws",code=""} 0
herald_messages_total{transport="ws",code="200"} 3
`)
}

func TestGaugeVecExposition(t *testing.T) {
	r := NewRegistry()
	v := r.GaugeVec("herald_room_members", "Members per room.", "room")
	v.With("b").Set(2)
	v.With("a").Set(5)
	v.With("a").Dec()
	v.With("c").Add(-0.5)
	expectOutput(t, r, `# HELP herald_room_members Members per room.
# TYPE herald_room_members gauge
herald_room_members{room="a"} 4
herald_room_members{room="b"} 2
herald_room_members{room="c"} -0.5
`)
}

func TestHistogramVecExposition(t *testing.T) {
	r := NewRegistry()
	v := r.HistogramVec("herald_op_seconds", "Op latency.", []float64{0.01, 0.1}, "op", "ok")
	v.With("sub", "true").Observe(0.005)
	v.With("sub", "true").Observe(0.05)
	v.With("pub", "false").Observe(1)
	expectOutput(t, r, `# HELP herald_op_seconds Op latency.
# TYPE herald_op_seconds histogram
herald_op_seconds_bucket{op="pub",ok="false",le="0.01"} 0
herald_op_seconds_bucket{op="pub",ok="false",le="0.1"} 0
herald_op_seconds_bucket{op="pub",ok="false",le="+Inf"} 1
herald_op_seconds_sum{op="pub",ok="false"} 1
herald_op_seconds_count{op="pub",ok="false"} 1
herald_op_seconds_bucket{op="sub",ok="true",le="0.01"} 1
herald_op_seconds_bucket{op="sub",ok="true",le="0.1"} 2
herald_op_seconds_bucket{op="sub",ok="true",le="+Inf"} 2
herald_op_seconds_sum{op="sub",ok="true"} 0.055
herald_op_seconds_count{op="sub",ok="true"} 2
`)
}

func TestVecZeroLabels(t *testing.T) {
	r := NewRegistry()
	v := r.CounterVec("plain_total", "x")
	v.With().Inc()
	v.With().Inc()
	expectOutput(t, r, "# HELP plain_total x\n# TYPE plain_total counter\nplain_total 2\n")
}

func TestVecWithIdentityAndArity(t *testing.T) {
	r := NewRegistry()
	cv := r.CounterVec("c", "x", "a", "b")
	if cv.With("1", "2") != cv.With("1", "2") {
		t.Error("With returns different counters for the same labels")
	}
	// The separator must make the key unambiguous.
	if cv.With("a", "bc") == cv.With("ab", "c") {
		t.Error("label values are not separated in the key")
	}
	mustPanic(t, `"c": got 1 label values, want 2`, func() { cv.With("1") })
	mustPanic(t, `"c": got 3 label values, want 2`, func() { cv.With("1", "2", "3") })
	mustPanic(t, "want 2", func() { cv.Delete("1") })
	gv := r.GaugeVec("g", "x", "a")
	mustPanic(t, `"g": got 0 label values, want 1`, func() { gv.With() })
	hv := r.HistogramVec("h", "x", nil, "a")
	mustPanic(t, `"h": got 2 label values, want 1`, func() { hv.With("1", "2") })
}

func TestVecInvalidUTF8(t *testing.T) {
	r := NewRegistry()
	v := r.CounterVec("c", "x", "a", "b")
	c1 := v.With("x\xff", "y")
	c2 := v.With("x\xfe", "y") // same canonical value: x\uFFFD
	c3 := v.With("x\uFFFD", "y")
	if c1 != c2 || c1 != c3 {
		t.Fatal("invalid UTF-8 variants map to different children")
	}
	c1.Inc()
	s := r.CounterVec("s", "x", "a")
	s.With("\xff").Inc()
	s.With("\uFFFD").Inc()
	expectOutput(t, r, "# HELP c x\n# TYPE c counter\nc{a=\"x\uFFFD\",b=\"y\"} 1\n# HELP s x\n# TYPE s counter\ns{a=\"\uFFFD\"} 2\n")
}

func TestVecDelete(t *testing.T) {
	r := NewRegistry()
	v := r.CounterVec("c", "x", "a")
	v.With("keep").Inc()
	gone := v.With("gone")
	gone.Inc()
	if !v.Delete("gone") || v.Delete("gone") || v.Delete("never") {
		t.Fatal("Delete results wrong")
	}
	gone.Inc() // a stale child keeps working, it is just not exposed
	expectOutput(t, r, "# HELP c x\n# TYPE c counter\nc{a=\"keep\"} 1\n")
	if v.With("gone").Value() != 0 {
		t.Error("re-created child is not fresh")
	}
	g := r.GaugeVec("g", "x", "a", "b")
	g.With("1", "2").Set(1)
	h := r.HistogramVec("h", "x", nil, "a")
	h.With("\xff").Observe(1)
	if !g.Delete("1", "2") || !h.Delete("\xfe") {
		t.Fatal("Delete on GaugeVec/HistogramVec failed")
	}
	expectOutput(t, r, "# HELP c x\n# TYPE c counter\nc{a=\"gone\"} 0\nc{a=\"keep\"} 1\n")
}

// Label values are copied, so a child never pins a caller's buffer, and
// mutating that buffer later cannot corrupt the exposition.
func TestVecCopiesValues(t *testing.T) {
	r := NewRegistry()
	v := r.CounterVec("c", "x", "a")
	buf := []byte("abc")
	s := unsafeString(buf)
	v.With(s).Inc()
	for key, c := range v.v.children {
		if unsafe.StringData(key) == &buf[0] || unsafe.StringData(c.values[0]) == &buf[0] {
			t.Error("child retains the caller's buffer")
		}
	}
	buf[0] = 'X'
	expectOutput(t, r, "# HELP c x\n# TYPE c counter\nc{a=\"abc\"} 1\n")
	if v.With("abc").Value() != 1 {
		t.Error("lookup after mutating the caller's buffer failed")
	}
}

func TestVecLongKey(t *testing.T) {
	r := NewRegistry()
	v := r.CounterVec("c", "x", "a", "b")
	long := strings.Repeat("x", 3*stackKey)
	v.With(long, "1").Inc()
	v.With(long, "1").Inc()
	if got := v.With(long, "1").Value(); got != 2 {
		t.Fatalf("long key value = %v", got)
	}
}

func TestVecConcurrent(t *testing.T) {
	const goroutines, iters = 8, 5000
	r := NewRegistry()
	cv := r.CounterVec("c_total", "x", "k", "j")
	hv := r.HistogramVec("h", "x", []float64{1}, "k")
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range iters {
				k := strconv.Itoa(i % 10)
				cv.With(k, "j").Inc()
				hv.With(k).Observe(float64(g % 2))
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 10 {
			render(t, r)
		}
	}()
	wg.Wait()
	e, err := parseExposition(render(t, r))
	if err != nil {
		t.Fatal(err)
	}
	for k := range 10 {
		ks := strconv.Itoa(k)
		if v, _ := e.value("c_total", "k", ks, "j", "j"); v != goroutines*iters/10 {
			t.Errorf("c_total{k=%s} = %v", ks, v)
		}
		if v, _ := e.value("h_count", "k", ks); v != goroutines*iters/10 {
			t.Errorf("h_count{k=%s} = %v", ks, v)
		}
		if v, _ := e.value("h_sum", "k", ks); v != goroutines*iters/20 {
			t.Errorf("h_sum{k=%s} = %v", ks, v)
		}
	}
}

func TestVecWithNoAllocs(t *testing.T) {
	r := NewRegistry()
	c1 := r.CounterVec("c1", "x", "a")
	c2 := r.CounterVec("c2", "x", "a", "b")
	g3 := r.GaugeVec("g3", "x", "a", "b", "c")
	h1 := r.HistogramVec("h1", "x", nil, "a")
	dyn := strconv.Itoa(12345) // not a constant
	c1.With(dyn)
	c2.With("GET", dyn)
	g3.With("x", "y", dyn)
	h1.With(dyn)
	for name, f := range map[string]func(){
		"CounterVec 1 label":   func() { c1.With(dyn).Inc() },
		"CounterVec 2 labels":  func() { c2.With("GET", dyn).Inc() },
		"GaugeVec 3 labels":    func() { g3.With("x", "y", dyn).Inc() },
		"HistogramVec 1 label": func() { h1.With(dyn).Observe(0.1) },
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %v allocs", name, n)
		}
	}
}

func BenchmarkCounterVecWithInc(b *testing.B) {
	v := NewRegistry().CounterVec("c", "x", "transport")
	v.With("websocket")
	b.ReportAllocs()
	for b.Loop() {
		v.With("websocket").Inc()
	}
}

func BenchmarkCounterVecWith2Inc(b *testing.B) {
	v := NewRegistry().CounterVec("c", "x", "transport", "code")
	v.With("websocket", "200")
	b.ReportAllocs()
	for b.Loop() {
		v.With("websocket", "200").Inc()
	}
}

func BenchmarkCounterVecWithIncParallel(b *testing.B) {
	v := NewRegistry().CounterVec("c", "x", "transport")
	v.With("websocket")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			v.With("websocket").Inc()
		}
	})
}

func BenchmarkHistogramVecWithObserve(b *testing.B) {
	v := NewRegistry().HistogramVec("h", "x", nil, "op")
	v.With("publish")
	b.ReportAllocs()
	for b.Loop() {
		v.With("publish").Observe(0.002)
	}
}

func unsafeString(b []byte) string { return unsafe.String(&b[0], len(b)) }
