package metrics

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// LatencyBuckets returns a fresh copy of the default latency buckets, in
// seconds: 100µs to 10s.
func LatencyBuckets() []float64 {
	return []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

// DefBuckets returns a fresh copy of the default buckets, used when a
// histogram is created with nil buckets. They are the [LatencyBuckets].
func DefBuckets() []float64 { return LatencyBuckets() }

// Histogram counts observations in buckets, exposed with TYPE histogram as
// cumulative name_bucket{le="..."} series (the last one le="+Inf"), name_sum
// and name_count.
//
// Bucket upper bounds are inclusive and must be strictly increasing and not
// NaN; a trailing +Inf is allowed and dropped, since the +Inf bucket is
// always exposed. Observe is lock-free, allocation-free and safe for
// concurrent use. Every scrape sees a consistent snapshot.
type Histogram struct {
	meta *histMeta

	// Hot/cold double buffer (the scheme used by client_golang). Bit 63 of
	// hotCount selects the hot half of counts; bits 0-62 count observations
	// started. Observe writes only to the hot half. A scrape flips the bit,
	// waits until the now-cold half has completed as many observations as
	// were started before the flip, reads it, then folds it into the hot
	// half and zeroes it. Scrapes are serialised by writeMu.
	hotCount atomic.Uint64
	counts   [2]histCounts
	writeMu  sync.Mutex
}

type histCounts struct {
	count   atomic.Uint64   // completed observations
	sumBits atomic.Uint64   // float64 bits of the sum
	buckets []atomic.Uint64 // non-cumulative; the +Inf bucket is implicit
}

// histMeta is shared by all children of a HistogramVec.
type histMeta struct {
	upper []float64
	le    []string // rendered `le="..."` for each bound, plus `le="+Inf"` last
}

func newHistMeta(name string, buckets []float64) *histMeta {
	if buckets == nil {
		buckets = DefBuckets()
	}
	upper := make([]float64, 0, len(buckets))
	for i, v := range buckets {
		if math.IsNaN(v) {
			panic(fmt.Sprintf("metrics: histogram %q: NaN bucket", name))
		}
		if i > 0 && !(v > buckets[i-1]) {
			panic(fmt.Sprintf("metrics: histogram %q: buckets not strictly increasing at index %d (%v after %v)", name, i, v, buckets[i-1]))
		}
		if math.IsInf(v, 1) {
			continue // implicit; strictly increasing makes it the last element
		}
		upper = append(upper, v)
	}
	m := &histMeta{upper: upper, le: make([]string, 0, len(upper)+1)}
	for _, v := range upper {
		m.le = append(m.le, `le="`+string(appendFloat(nil, v))+`"`)
	}
	m.le = append(m.le, `le="+Inf"`)
	return m
}

func (h *Histogram) init(m *histMeta) {
	h.meta = m
	h.counts[0].buckets = make([]atomic.Uint64, len(m.upper))
	h.counts[1].buckets = make([]atomic.Uint64, len(m.upper))
}

// bucket returns the index of the first bound >= v, len(upper) for +Inf.
func (m *histMeta) bucket(v float64) int {
	if len(m.upper) <= 32 {
		for i, u := range m.upper {
			if v <= u {
				return i
			}
		}
		return len(m.upper)
	}
	return sort.SearchFloat64s(m.upper, v)
}

// Observe records v. NaN is ignored.
func (h *Histogram) Observe(v float64) {
	if v != v {
		return
	}
	i := h.meta.bucket(v)
	n := h.hotCount.Add(1)
	hc := &h.counts[n>>63]
	if i < len(hc.buckets) {
		hc.buckets[i].Add(1)
	}
	addFloat(&hc.sumBits, v)
	hc.count.Add(1) // must be last: the scrape waits on it
}

// ObserveDuration records the time elapsed since start, in seconds.
func (h *Histogram) ObserveDuration(start time.Time) {
	h.Observe(time.Since(start).Seconds())
}

// snapshot fills buckets (len(h.meta.upper), non-cumulative) and returns the
// count and sum of one consistent state of the histogram.
func (h *Histogram) snapshot(buckets []uint64) (count uint64, sum float64) {
	h.writeMu.Lock()
	defer h.writeMu.Unlock()

	n := h.hotCount.Add(1 << 63) // flip hot and cold
	count = n & (1<<63 - 1)
	hot := &h.counts[n>>63]
	cold := &h.counts[(^n)>>63]
	// Wait for observations that started on the old hot half to finish.
	for cold.count.Load() != count {
		runtime.Gosched()
	}
	sum = math.Float64frombits(cold.sumBits.Load())
	for i := range cold.buckets {
		buckets[i] = cold.buckets[i].Load()
	}
	// Fold the cold half into the hot one so totals keep accumulating.
	hot.count.Add(count)
	cold.count.Store(0)
	for i := range cold.buckets {
		hot.buckets[i].Add(buckets[i])
		cold.buckets[i].Store(0)
	}
	addFloat(&hot.sumBits, sum)
	cold.sumBits.Store(0)
	return count, sum
}

func (h *Histogram) appendSamples(b []byte, name, labels string) []byte {
	var stack [32]uint64
	var buckets []uint64
	if n := len(h.meta.upper); n <= len(stack) {
		buckets = stack[:n]
	} else {
		buckets = make([]uint64, n)
	}
	count, sum := h.snapshot(buckets)
	var cum uint64
	for i, n := range buckets {
		cum += n
		b = appendSampleUint(b, name, "_bucket", labels, h.meta.le[i], cum)
	}
	b = appendSampleUint(b, name, "_bucket", labels, h.meta.le[len(buckets)], count)
	b = appendSample(b, name, "_sum", labels, "", sum)
	return appendSampleUint(b, name, "_count", labels, "", count)
}
