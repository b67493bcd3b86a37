package metrics

import (
	"math"
	"sync/atomic"
)

// Counter is a monotonically increasing value, exposed with TYPE counter.
// Create one with [Registry.Counter] or [CounterVec.With]. All methods are
// lock-free, allocation-free and safe for concurrent use.
type Counter struct {
	// Whole-number increments (Inc, Add(3)) go to n with a single atomic
	// add, which is exact and cheaper than a CAS loop; fractional
	// increments accumulate in bits (a float64 bit pattern) via CAS.
	n    atomic.Uint64
	bits atomic.Uint64
}

// maxExact is 2^53: every whole float64 below it converts to uint64 exactly.
const maxExact = 1 << 53

// Inc adds 1.
func (c *Counter) Inc() { c.n.Add(1) }

// Add adds v. Counters never decrease: a negative, zero or NaN v is ignored
// (no panic, since counters are updated on hot paths). +Inf is accepted.
func (c *Counter) Add(v float64) {
	if !(v > 0) {
		return
	}
	if v < maxExact {
		if u := uint64(v); float64(u) == v {
			c.n.Add(u)
			return
		}
	}
	addFloat(&c.bits, v)
}

// Value returns the current value.
func (c *Counter) Value() float64 {
	return float64(c.n.Load()) + math.Float64frombits(c.bits.Load())
}

func (c *Counter) appendSamples(b []byte, name, labels string) []byte {
	if c.bits.Load() == 0 { // integral only: exact even above 2^53
		return appendSampleUint(b, name, "", labels, "", c.n.Load())
	}
	return appendSample(b, name, "", labels, "", c.Value())
}

// addFloat atomically adds v to the float64 stored as bits in p.
func addFloat(p *atomic.Uint64, v float64) {
	for {
		old := p.Load()
		if p.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// funcMetric is a metric whose value is computed at scrape time.
type funcMetric func() float64

func (f funcMetric) appendSamples(b []byte, name, labels string) []byte {
	return appendSample(b, name, "", labels, "", f())
}
